import Testing
@testable import Cloud
@testable import PrePullKit

@Suite("Drop reasons (pure)") struct DropReasonTests {
    @Test("every report refusal is counted under its own label, never as other")
    func everyRefusalHasItsLabel() {
        for refusal in ReportRefusal.allCases {
            let reason = DropReason(refusal)
            #expect(reason != .other && reason.rawValue == refusal.rawValue, "\(refusal)")
        }
        #expect(Set(ReportRefusal.allCases.map { DropReason($0) }).count == ReportRefusal.allCases.count)
    }
}
