import Foundation
import Hummingbird
import PrePullKit

/// Server-side printing: a `meta.k8s.io` `Table`, what `kubectl get` asks for with
/// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`. Columns come from the same
/// `PrintColumn`s `prepull get` prints; each row carries the object's metadata
/// (`PartialObjectMetadata`), which kubectl uses for `--show-labels`, `-L` and sorting.
struct Table: Encodable {
    struct Column: Encodable {
        var name: String
        var type: String
        var format: String
        var description: String
        var priority: Int
    }

    struct PartialObjectMetadata: Encodable {
        var kind = "PartialObjectMetadata"
        var apiVersion: String
        var metadata: ObjectMeta
    }

    struct Row: Encodable {
        var cells: [String]
        var object: PartialObjectMetadata
    }

    struct ListMeta: Encodable {
        var resourceVersion: String
    }

    var kind = "Table"
    var apiVersion: String
    var metadata: ListMeta
    var columnDefinitions: [Column]
    var rows: [Row]

    init<Object>(_ objects: [Object], columns: [PrintColumn<Object>], metadata: (Object) -> ObjectMeta, apiVersion: String,
                 resourceVersion: String, now: Date = Date()) {
        self.apiVersion = apiVersion
        self.metadata = ListMeta(resourceVersion: resourceVersion)
        columnDefinitions = columns.map {
            Column(name: $0.name, type: $0.type == "date" ? "string" : $0.type, format: $0.type == "date" ? "date" : $0.format,
                   description: $0.description, priority: $0.priority)
        }
        rows = objects.map { object in
            Row(cells: columns.map { $0.cell(object, now) },
                object: PartialObjectMetadata(apiVersion: apiVersion, metadata: metadata(object)))
        }
    }

    /// Jobs in the columns `prepull get` prints.
    init(jobs: [ImagePrePullJob], apiVersion: String, resourceVersion: String) {
        self.init(jobs, columns: ImagePrePullJob.columns, metadata: \.metadata, apiVersion: apiVersion, resourceVersion: resourceVersion)
    }

    /// The Table version the request asks for (`meta.k8s.io/v1` or `v1beta1`), or nil when it
    /// wants the objects themselves.
    static func requested(by request: Request) -> String? {
        let accept = request.headers[values: .accept].joined(separator: ",")
        for part in accept.split(separator: ",") {
            let parameters = Set(part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) })
            guard parameters.contains("as=Table"), parameters.contains("g=meta.k8s.io") else { continue }
            if parameters.contains("v=v1") { return "meta.k8s.io/v1" }
            if parameters.contains("v=v1beta1") { return "meta.k8s.io/v1beta1" }
        }
        return nil
    }
}
