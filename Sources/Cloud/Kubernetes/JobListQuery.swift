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
        guard let text, !text.isEmpty else { return nil }
        var name: String?
        for term in EventFieldSelector.split(text, on: ",") where !term.isEmpty {
            guard let r = EventFieldSelector.operatorRange(term, "==") ?? EventFieldSelector.operatorRange(term, "="),
                  EventFieldSelector.operatorRange(term, "!=") == nil else {
                throw .badRequest("invalid field selector \"\(term)\": prepull takes metadata.name=NAME")
            }
            let field = term[..<r.lowerBound]
            guard field == "metadata.name" else { throw .badRequest("field label not supported: \(field)") }
            name = EventFieldSelector.unescape(String(term[r.upperBound...]))
        }
        return name
    }
}
