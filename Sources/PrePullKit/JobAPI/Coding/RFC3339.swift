import Foundation

/// RFC 3339 timestamps as Kubernetes writes them (`2026-11-25T08:00:00Z`).
public enum RFC3339 {
    public static func format(_ date: Date) -> String {
        let whole = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
        if whole == date {
            return Date.ISO8601FormatStyle().format(date)
        }
        return Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    public static func parse(_ text: String) -> Date? {
        if let d = try? Date.ISO8601FormatStyle().parse(text) { return d }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}

/// An RFC 3339 time as the API decodes one: a string that must parse (a type of its own, so that
/// the schema says `format: date-time`).
struct RFC3339Time: Decodable {
    var date: Date

    init(_ date: Date) { self.date = date }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let date = RFC3339.parse(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"\(text)\" is not an RFC 3339 time")
        }
        self.date = date
    }
}
