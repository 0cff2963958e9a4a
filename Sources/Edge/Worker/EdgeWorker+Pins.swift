import Foundation
import Logging
import PrePullKit

/// Pins that run out (`pinImages.unpinAfterSeconds`): written beside the journal when set, and
/// removed by one task that wakes every `unpinCheckInterval` while any is left.
extension EdgeWorker {
    func persistPins() async {
        do {
            try await journal.writePins(pins)
        } catch {
            logger.error("cannot write the pins file", metadata: ["error": "\(error)"])
        }
    }

    /// Starts the unpinning task when there are pins and none runs.
    func startUnpinning() {
        guard !pins.isEmpty, unpinning == nil, !stopping else { return }
        unpinning = Task(executorPreference: options.taskExecutor) { [weak self] in
            while let self, !Task.isCancelled {
                guard await self.unpinDue() else { return }
                try? await Task.sleep(for: self.options.unpinCheckInterval)
            }
        }
    }

    /// Removes the pins whose time came; false when none is left (the task ends).
    func unpinDue() async -> Bool {
        let now = Date.nowEpochMilliseconds
        let due = pins.filter { $0.unpinAtMs <= now }
        if !due.isEmpty {
            for pin in due {
                let names = pin.images.compactMap { try? ImageReference($0) }
                do {
                    _ = try await runtime.setPinned(names, false)
                    logger.info("image unpinned", metadata: ["images": "\(pin.images)", "jobUID": "\(pin.jobUID)"])
                } catch {
                    // An image removed meanwhile has nothing left to unpin.
                    logger.info("unpin: \(error)", metadata: ["images": "\(pin.images)"])
                }
            }
            pins.removeAll { $0.unpinAtMs <= now }
            await persistPins()
        }
        if pins.isEmpty { unpinning = nil }
        return !pins.isEmpty
    }
}
