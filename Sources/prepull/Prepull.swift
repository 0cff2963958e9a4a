import ArgumentParser
import CommandSupport

/// `prepull`: one binary for the cloud controller, the edge worker, hollow fleets and the operator CLI.
@main
struct Prepull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepull",
        abstract: "Pre-pull container images onto fleets of edge nodes over MQTT.",
        discussion: """
            Operators apply an ImagePrePullJob (operations.kubeedge.io) to the cloud controller; the \
            controller sends one task per node over MQTT; each edge worker pulls through containerd and \
            reports progress; the controller folds the reports into the job status.
            """,
        version: PrepullVersion.current,
        subcommands: [
            CloudCommand.self, ApplyCommand.self, GetCommand.self, DescribeCommand.self, DeleteCommand.self,
            NodesCommand.self, WatchCommand.self, TopCommand.self, EdgeCommand.self, PullCommand.self, FleetCommand.self,
        ],
    )
}
