import Yams

/// A YAML or JSON syntax error as `line:column: problem`, never with the text around it: the
/// document may be a Secret, and Yams' own message quotes the offending line (a password in
/// `stringData`, say) into the API's 400 answer and the CLI's stderr.
enum YAMLSyntaxMessage {
    static func describe(_ error: any Error) -> String {
        guard let yaml = error as? YamlError else { return "the document could not be parsed" }
        switch yaml {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let during = context.map { " (\($0.text) at \($0.mark))" } ?? ""
            return "\(mark): \(problem)\(during)"
        case let .reader(problem, offset, _, _):
            return "\(problem)" + (offset.map { " at byte \($0)" } ?? "")
        case let .duplicatedKeysInMapping(duplicates, context):
            return "\(context.mark): duplicate key(s) \(duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", "))"
        case .dataCouldNotBeDecoded: return "the input is not valid UTF-8"
        case .memory: return "out of memory while parsing"
        case .no, .writer, .emitter, .representer: return "the document could not be parsed"
        @unknown default: return "the document could not be parsed"
        }
    }
}
