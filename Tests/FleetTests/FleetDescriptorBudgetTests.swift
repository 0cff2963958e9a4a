import Fleet
import Testing

@Suite("Fleet descriptor budget")
struct FleetDescriptorBudgetTests {
    @Test func aShareThatFitsIsAccepted() {
        #expect(FleetDescriptorBudget.problem(nodes: 5_000, processes: 1, limit: 20_000, perNode: 3) == nil)
        #expect(FleetDescriptorBudget.problem(nodes: 10_000, processes: 2, limit: 20_000, perNode: 3) == nil)
        // One descriptor per node: 10,000 fit in one process.
        #expect(FleetDescriptorBudget.problem(nodes: 10_000, processes: 1, limit: 20_000, perNode: 1) == nil)
    }

    @Test func tenThousandNodesInOneProcessNameTheProcessesNeeded() throws {
        // 20,000 descriptors hold (20,000 - 256) / 3 = 6,581 nodes: 10,000 need 2 processes.
        let problem = try #require(FleetDescriptorBudget.problem(nodes: 10_000, processes: 1, limit: 20_000, perNode: 3))
        #expect(problem.contains("10000 nodes in one process need about 30256 open files"))
        #expect(problem.contains("the limit is 20000"))
        #expect(problem.contains("--processes 2 or more"))
    }

    @Test func theLargestShareCounts() throws {
        // 19,999 over 3 processes: shares of 6,667, one more than fits.
        let problem = try #require(FleetDescriptorBudget.problem(nodes: 19_999, processes: 3, limit: 20_000, perNode: 3))
        #expect(problem.contains("6667 nodes in one process"))
        #expect(problem.contains("--processes 4 or more"))
    }

    @Test func aLimitBelowTheReserveHoldsNoNode() throws {
        let problem = try #require(FleetDescriptorBudget.problem(nodes: 1, processes: 1, limit: 100))
        #expect(problem.contains("too low for any hollow node"))
    }

    @Test("with this libmosquitto a node holds one descriptor (its socket pair is released)")
    func oneDescriptorPerNode() {
        #expect(FleetDescriptorBudget.descriptorsPerNode == 1)
        let problem = FleetDescriptorBudget.problem(nodes: 30_000, processes: 1, limit: 20_000)
        #expect(problem?.contains("(1 per node)") == true, "\(problem ?? "nil")")
    }
}
