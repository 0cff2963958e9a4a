import Foundation

/// A column of a printed list, as Kubernetes' server-side printing defines one
/// (`meta.k8s.io/v1` `TableColumnDefinition`): `prepull get` and `kubectl get` print the same
/// columns from the same definitions.
public struct PrintColumn<Object>: Sendable {
    /// The header (`kubectl` upper-cases it).
    public var name: String
    /// OpenAPI type of the cells: `string`, `integer`, `number`, `boolean`, `date`.
    public var type: String
    /// OpenAPI format (`name` marks the name column).
    public var format: String
    public var description: String
    /// 0: always shown; 1: shown with `-o wide`.
    public var priority: Int
    /// The cell of one object, given the time the list is printed at.
    public var cell: @Sendable (Object, Date) -> String

    public init(_ name: String, type: String = "string", format: String = "", priority: Int = 0, _ description: String,
                cell: @escaping @Sendable (Object, Date) -> String) {
        self.name = name
        self.type = type
        self.format = format
        self.description = description
        self.priority = priority
        self.cell = cell
    }
}

/// Times as `kubectl get` prints them: `42s`, `7m`, `5h`, `3d`.
public enum PrintAge {
    public static func since(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "<unknown>" }
        let s = max(0, Int(now.timeIntervalSince(date)))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}

/// Byte counts for people: `512 B`, `1.5 KiB`, `32.0 MiB`.
public enum PrintBytes {
    public static func binary(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }
}
