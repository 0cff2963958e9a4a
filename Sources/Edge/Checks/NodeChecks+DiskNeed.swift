import Foundation
import PrePullKit

/// The disk check against bytes (prepull.io's `resolveDigests`): the node's free space against
/// what the images it does not have yet need, not only a percentage.
extension NodeChecks {
    /// Kept free beyond the images' need (`prepull edge --disk-margin`).
    public static let defaultDiskMarginBytes: Int64 = 512 * 1024 * 1024
    /// A pulled image takes its compressed layers in the content store plus their unpacked files
    /// in the snapshotter, which gzip makes about twice as large: three times the compressed size.
    public static let unpackFactor: Int64 = 3

    /// Bytes the images need: `compressed` (of the images not present) times ``unpackFactor``, plus
    /// `margin` (saturating: sizes from the wire never trap).
    public static func diskNeed(compressed: Int64, margin: Int64) -> Int64 {
        let (unpacked, o1) = max(0, compressed).multipliedReportingOverflow(by: unpackFactor)
        let (need, o2) = unpacked.addingReportingOverflow(max(0, margin))
        return o1 || o2 ? .max : need
    }

    /// `result` with its disk item failed when `free` is below the need (the reason gives the
    /// sizes); unchanged when it fits, when the free space is not known, or without a disk item.
    public static func checkingDiskBytes(_ result: CheckResult, free: Int64?, compressed: Int64, images: Int, margin: Int64) -> CheckResult {
        guard let free, let index = result.items.firstIndex(where: { $0.item == .disk }) else { return result }
        let need = diskNeed(compressed: compressed, margin: margin)
        guard free < need else { return result }
        var r = result
        let bytes = PrintBytes.binary
        let reason = "disk \(bytes(free)) free, the images need \(bytes(need)) (\(images) image\(images == 1 ? "" : "s") not present, "
            + "\(bytes(compressed)) compressed ×\(unpackFactor) unpacked, + \(bytes(margin)) margin)"
        r.items[index].succeeded = false
        r.items[index].reason = [r.items[index].reason, reason].compactMap { $0 }.joined(separator: "; ")
        let failed = r.items.filter { !$0.succeeded }
        r.succeeded = false
        r.reason = "check failed: " + failed.compactMap(\.reason).joined(separator: "; ")
        return r
    }
}
