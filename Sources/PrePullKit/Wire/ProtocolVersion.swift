/// The protocol versions this build speaks. A receiver drops messages of any other version.
public enum ProtocolVersion {
    public static let current = "prepull.v1"
    public static let supported: Set<String> = [current]
}
