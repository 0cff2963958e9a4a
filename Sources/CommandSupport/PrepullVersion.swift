/// The version every prepull binary reports (`--version`, presence `versions`).
public enum PrepullVersion {
    public static let current = "0.1.0"
}
