extension KeyedDecodingContainer {
    /// A ratio as KubeEdge writes `failureTolerate`: a decimal string ("0.1"), or an unquoted YAML
    /// number, kept as written so the validator can name a bad one. Nil when absent.
    func decodeDecimalTextIfPresent(forKey key: Key) throws -> String? {
        if let text = try? decodeIfPresent(String.self, forKey: key) { return text }
        return try decodeIfPresent(Double.self, forKey: key).map { String($0) }
    }
}
