import Hummingbird

/// The query of a job list or watch as kubectl sends it.
enum JobListQuery {
    /// `watch=true` (or `1`).
    static func isWatch(_ request: Request) -> Bool {
        let value = request.uri.queryParameters.get("watch")
        return value == "true" || value == "1"
    }

    /// `fieldSelector=metadata.name=NAME` (what `kubectl get NAME -w` and `kubectl delete`'s wait
    /// send); nil when absent. Any other field is refused, naming it.
    static func name(fromFieldSelector text: String?) throws(CloudAPIError) -> String? {
        let selector = try FieldSelector(parsing: text ?? "", supported: ["metadata.name"])
        if let term = selector.terms.first(where: { !$0.equal }) {
            throw .badRequest("invalid field selector \"\(term.field)!=\(term.value)\": prepull takes metadata.name=NAME")
        }
        return selector.terms.last?.value
    }
}
