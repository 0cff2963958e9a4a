import Foundation

/// The ```console blocks of a Markdown document, for tests that run every command a document
/// shows and check the lines it quotes: `$ command`, then the quoted output (`...` alone skips
/// lines; `...` inside a line stands for any text there).
public struct ConsoleBlock: Sendable, Equatable {
    public var command: String
    public var expected: [String]

    public static func parse(_ markdown: String) -> [ConsoleBlock] {
        var out: [ConsoleBlock] = []
        var inside = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line == "```console" { inside = true; continue }
            if inside && line == "```" { inside = false; continue }
            guard inside else { continue }
            if line.hasPrefix("$ ") {
                out.append(ConsoleBlock(command: String(line.dropFirst(2)), expected: []))
            } else if line != "...", !line.trimmingCharacters(in: .whitespaces).isEmpty, !out.isEmpty {
                out[out.count - 1].expected.append(line)
            }
        }
        return out
    }

    /// Digits to 0 and runs of spaces to one: what must agree between a document and a run (ages,
    /// sizes and column widths vary).
    public static func normalized(_ line: String) -> String {
        var out = ""
        var lastSpace = false, lastDigit = false
        for ch in line.trimmingCharacters(in: .whitespaces) {
            if ch.isNumber {
                if !lastDigit { out.append("0") }
                lastDigit = true
                lastSpace = false
            } else if ch == " " || ch == "\t" {
                if !lastSpace { out.append(" ") }
                lastSpace = true
                lastDigit = false
            } else {
                out.append(ch)
                lastSpace = false
                lastDigit = false
            }
        }
        return out
    }

    /// The quoted lines `output` lacks (each must be inside one printed line, normalized; the
    /// pieces of a line with `...` in that order).
    public func missing(in output: String) -> [String] {
        let actual = output.split(separator: "\n").map { Self.normalized(String($0)) }
        return expected.filter { line in
            let pieces = line.components(separatedBy: "...").map { Self.normalized($0) }.filter { !$0.isEmpty }
            return !actual.contains { printed in
                var rest = Substring(printed)
                for piece in pieces {
                    guard let r = rest.range(of: piece) else { return false }
                    rest = rest[r.upperBound...]
                }
                return true
            }
        }
    }
}
