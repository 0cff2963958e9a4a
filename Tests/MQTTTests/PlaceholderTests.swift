import Testing
@testable import MQTT
@Test func placeholder() { #expect(Bool(true)) }
