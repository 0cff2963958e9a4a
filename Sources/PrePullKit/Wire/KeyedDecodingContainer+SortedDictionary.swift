/// A JSON object decoded as `[String: Value]` member by member in key order.
///
/// `JSONDecoder` decodes a dictionary in its own hash order, so of two bad members the one it
/// names in the error depends on the dictionary's layout, and the same bytes could be refused for
/// different reasons on the wire codec's two paths (found by fuzz-wire). In key order the first
/// bad member is always the same.
extension KeyedDecodingContainer {
    func decodeSortedDictionaryIfPresent<Value: Decodable>(_: Value.Type, forKey key: Key) throws -> [String: Value]? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try superDecoder(forKey: key).decodeSortedDictionary(Value.self)
    }
}

extension Decoder {
    /// The same for a decoder whose whole value is the object (`RegistryAuths`, and the member above).
    func decodeSortedDictionary<Value: Decodable>(_: Value.Type) throws -> [String: Value] {
        let members = try container(keyedBy: AnyCodingKey.self)
        var out: [String: Value] = [:]
        for name in members.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            out[name.stringValue] = try members.decode(Value.self, forKey: name)
        }
        return out
    }
}
