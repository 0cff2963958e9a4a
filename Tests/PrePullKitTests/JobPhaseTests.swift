import Testing
@testable import PrePullKit

@Suite struct JobPhaseTests {
    static func counts(total: Int, failed: Int = 0, unknown: Int = 0, successful: Int? = nil, inProgress: Int = 0) -> JobCounts {
        let ok = successful ?? (total - failed - unknown - inProgress)
        return JobCounts(total: total, pending: total - failed - unknown - ok - inProgress, inProgress: inProgress, successful: ok, failed: failed, unknown: unknown)
    }

    // tolerance, counts, expected phase, failure certain
    static let table: [(String, JobCounts, JobPhase, Bool)] = [
        ("0", counts(total: 10), .completed, false),
        ("0", counts(total: 10, failed: 1), .failure, true),
        ("0.1", counts(total: 10, failed: 1), .completed, false),
        ("0.1", counts(total: 10, failed: 2), .failure, true),
        ("0.1", counts(total: 10, unknown: 2), .failure, true),
        ("0.5", counts(total: 10, failed: 5), .completed, false),
        ("0.5", counts(total: 10, failed: 6), .failure, true),
        ("0.1", counts(total: 10, failed: 10), .failure, true),
        ("1", counts(total: 10, failed: 10), .completed, false),
        ("0", counts(total: 0), .completed, false),
        ("0.1", counts(total: 0), .completed, false),
        ("0.3", counts(total: 3, failed: 1), .failure, true),  // 1/3 > 0.3
        ("0.34", counts(total: 3, failed: 1), .completed, false),
        ("0.333333333", counts(total: 3, failed: 1), .failure, true),  // exact: 1/3 > 0.333333333
        // not finished yet
        ("0.1", counts(total: 10, successful: 0, inProgress: 0), .initial, false),
        ("0.1", counts(total: 10, successful: 3, inProgress: 2), .inProgress, false),
        ("0.1", counts(total: 10, failed: 2, successful: 3, inProgress: 2), .inProgress, true),
        ("0.5", counts(total: 10, failed: 5, successful: 0, inProgress: 5), .inProgress, false),
        ("0.5", counts(total: 10, failed: 6, successful: 0, inProgress: 4), .inProgress, true),
    ]

    @Test(arguments: table)
    func referenceTable(tolerance: String, counts: JobCounts, phase: JobPhase, certain: Bool) throws {
        let t = try #require(FailureTolerance(tolerance))
        #expect(JobPhaseCalculation.phase(counts: counts, tolerance: t) == phase)
        #expect(JobPhaseCalculation.isFailureCertain(counts: counts, tolerance: t) == certain)
    }

    @Test func cancelledIsFailure() {
        #expect(JobPhaseCalculation.phase(counts: Self.counts(total: 3), tolerance: .default, cancelled: true) == .failure)
    }

    @Test func toleranceParsing() {
        #expect(FailureTolerance("0.1") == .default)
        #expect(FailureTolerance("0.10")?.description == "0.1")
        #expect(FailureTolerance("0.05")?.description == "0.05")
        #expect(FailureTolerance("1")?.description == "1")
        #expect(FailureTolerance("0")?.description == "0")
        #expect(FailureTolerance.parse("1.01") == .failure(.notARatio))
        #expect(FailureTolerance.parse("x") == .failure(.notANumber))
        #expect(FailureTolerance.parse("") == .failure(.notANumber))
        #expect(FailureTolerance.parse(".") == .failure(.notANumber))
    }

    @Test func exactComparisonAtLargeCounts() throws {
        let t = try #require(FailureTolerance("0.000000001"))
        #expect(!t.isExceeded(failed: 1, total: 1_000_000_000))
        #expect(t.isExceeded(failed: 2, total: 1_000_000_000))
        #expect(!t.isExceeded(failed: 0, total: 0))
    }
}
