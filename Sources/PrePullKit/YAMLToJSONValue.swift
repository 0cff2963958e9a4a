import Foundation
import Yams

/// Converts a composed Yams node into a `JSONValue` using YAML 1.1 core tag resolution.
/// Aliases are expanded by Yams; a node budget stops alias bombs.
struct YAMLToJSONValue {
    static let maximumNodes = 200_000
    static let maximumDepth = 100

    struct Failure: Error { var message: String }

    private var remaining = maximumNodes

    static func convert(_ node: Node) throws(Failure) -> JSONValue {
        var converter = YAMLToJSONValue()
        return try converter.convert(node, depth: 0)
    }

    private mutating func convert(_ node: Node, depth: Int) throws(Failure) -> JSONValue {
        remaining -= 1
        guard remaining >= 0 else { throw Failure(message: "document has more than \(Self.maximumNodes) nodes (alias expansion?)") }
        guard depth < Self.maximumDepth else { throw Failure(message: "document is nested deeper than \(Self.maximumDepth)") }
        switch node {
        case let .scalar(scalar):
            return Self.scalarValue(node, scalar)
        case let .sequence(seq):
            var out: [JSONValue] = []
            out.reserveCapacity(seq.count)
            for n in seq { out.append(try convert(n, depth: depth + 1)) }
            return .array(out)
        case let .mapping(mapping):
            var members: [(key: String, value: JSONValue)] = []
            var seen = Set<String>()
            for (k, v) in mapping {
                guard case let .scalar(ks) = k else { throw Failure(message: "mapping keys must be scalars") }
                guard seen.insert(ks.string).inserted else { throw Failure(message: "duplicate key \"\(ks.string)\"") }
                members.append((ks.string, try convert(v, depth: depth + 1)))
            }
            return .object(members)
        case .alias:
            throw Failure(message: "unresolved alias")
        }
    }

    private static func scalarValue(_ node: Node, _ scalar: Node.Scalar) -> JSONValue {
        switch Tag.Name(rawValue: node.tag.rawValue) {
        case .null: return .null
        case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
        case .int:
            if let i = node.int { return .number(String(i)) }
            return .string(scalar.string)
        case .float:
            guard let d = node.float, d.isFinite else { return .string(scalar.string) }
            if case .number? = try? JSONTextParser.parse(scalar.string) { return .number(scalar.string) }
            return .number(String(d))
        default:
            return .string(scalar.string)
        }
    }
}

/// Converts a `JSONValue` into a Yams node for emitting, quoting strings that would otherwise
/// read back as another type (`"0.1"`, `"true"`, `""`).
enum JSONValueToYAML {
    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null))
        case let .bool(b): return Node(b ? "true" : "false", Tag(.bool))
        case let .number(text): return Node(text, Tag(Double(text).map { $0 == $0.rounded() && !text.contains(".") } == true ? .int : .float))
        case let .string(s):
            let plain = Node(s)
            let style: Node.Scalar.Style = (s.isEmpty || plain.tag.rawValue != Tag.Name.str.rawValue) ? .doubleQuoted : .any
            return Node(s, Tag(.str), style)
        case let .array(elements): return Node(elements.map(node))
        case let .object(members): return Node(members.map { (node(.string($0.key)), node($0.value)) })
        }
    }
}
