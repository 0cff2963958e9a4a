/// One validation problem: a field path (`spec.imagePrePullTemplate.images[1]`) and a message.
public struct FieldError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`
    public var description: String { "\(path): \(message)" }
}
