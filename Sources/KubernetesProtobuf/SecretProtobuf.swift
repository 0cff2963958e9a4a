import Foundation
import SwiftProtobuf

/// A core/v1 Secret in Kubernetes' protobuf encoding (what kubectl 1.32's typed client sends
/// with `Content-Type: application/vnd.kubernetes.protobuf`): the magic `k8s\0`, then a
/// `runtime.Unknown` whose `raw` is the Secret.
public enum SecretProtobuf {
    public static let contentType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]

    public struct Secret: Sendable, Equatable {
        public var apiVersion: String
        public var kind: String
        public var name: String
        public var namespace: String?
        public var type: String
        public var data: [String: Data]
        public var stringData: [String: String]
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func decode(_ bytes: [UInt8]) throws -> Secret {
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
            throw Invalid(description: "not Kubernetes protobuf (no \"k8s\\0\" prefix)")
        }
        let unknown: K8s_Io_Prepull_Unknown
        let secret: K8s_Io_Prepull_Secret
        do {
            unknown = try K8s_Io_Prepull_Unknown(serializedBytes: Array(bytes.dropFirst(magic.count)))
            secret = try K8s_Io_Prepull_Secret(serializedBytes: [UInt8](unknown.raw))
        } catch {
            throw Invalid(description: "the protobuf body does not decode: \(error)")
        }
        guard unknown.contentEncoding.isEmpty else { throw Invalid(description: "content encoding \"\(unknown.contentEncoding)\" is not supported") }
        return Secret(
            apiVersion: unknown.typeMeta.apiVersion, kind: unknown.typeMeta.kind, name: secret.metadata.name,
            namespace: secret.metadata.hasNamespace ? secret.metadata.namespace : nil, type: secret.type,
            data: secret.data, stringData: secret.stringData)
    }

    /// Encodes a Secret the way kubectl does (tests use it to check `decode` on their own bytes).
    public static func encode(_ s: Secret) throws -> [UInt8] {
        var secret = K8s_Io_Prepull_Secret()
        secret.metadata.name = s.name
        if let ns = s.namespace { secret.metadata.namespace = ns }
        secret.type = s.type
        secret.data = s.data
        secret.stringData = s.stringData
        var unknown = K8s_Io_Prepull_Unknown()
        unknown.typeMeta.apiVersion = s.apiVersion
        unknown.typeMeta.kind = s.kind
        unknown.raw = try secret.serializedData()
        return magic + (try unknown.serializedBytes() as [UInt8])
    }
}
