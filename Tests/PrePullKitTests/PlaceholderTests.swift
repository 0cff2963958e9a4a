import Testing
@testable import PrePullKit
@Test func placeholder() { #expect(Bool(true)) }
