import Foundation

/// A distribution of non-negative numbers (durations in ms, sizes in MiB) for the simulated runtime.
///
/// Text forms (`Distribution(parsing:)`, used by `prepull fleet --pull-ms/--image-mib`):
/// `500` (constant), `100..900` or `100-900` (uniform), `normal:2000,500` (mean, standard
/// deviation), `exp:1000` (exponential with this mean). Samples below zero are clipped to zero.
public enum Distribution: Sendable, Equatable, CustomStringConvertible {
    case constant(Double)
    case uniform(Double, Double)
    case normal(mean: Double, standardDeviation: Double)
    case exponential(mean: Double)

    public func sample<G: RandomNumberGenerator>(using rng: inout G) -> Double {
        let value: Double
        switch self {
        case .constant(let v):
            value = v
        case .uniform(let low, let high):
            value = low >= high ? low : Double.random(in: low...high, using: &rng)
        case .normal(let mean, let sd):
            // Box-Muller.
            let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &rng)
            let u2 = Double.random(in: 0..<1, using: &rng)
            value = mean + sd * (-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2)
        case .exponential(let mean):
            let u = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &rng)
            value = -mean * Foundation.log(u)
        }
        return max(0, value)
    }

    public var mean: Double {
        switch self {
        case .constant(let v): return v
        case .uniform(let a, let b): return (a + b) / 2
        case .normal(let m, _): return m
        case .exponential(let m): return m
        }
    }

    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        func number(_ s: Substring) throws -> Double {
            guard let v = Double(s.trimmingCharacters(in: .whitespaces)), v.isFinite, v >= 0 else {
                throw DistributionError(text: text)
            }
            return v
        }
        if t.hasPrefix("normal:") {
            let parts = t.dropFirst("normal:".count).split(separator: ",")
            guard parts.count == 2 else { throw DistributionError(text: text) }
            self = .normal(mean: try number(parts[0]), standardDeviation: try number(parts[1]))
        } else if t.hasPrefix("exp:") {
            self = .exponential(mean: try number(t.dropFirst("exp:".count)))
        } else if let range = t.range(of: "..") ?? t.range(of: "-") {
            let low = try number(t[..<range.lowerBound])
            let high = try number(t[range.upperBound...])
            guard low <= high else { throw DistributionError(text: text) }
            self = .uniform(low, high)
        } else {
            self = .constant(try number(Substring(t)))
        }
    }

    public var description: String {
        switch self {
        case .constant(let v): return "\(v)"
        case .uniform(let a, let b): return "\(a)..\(b)"
        case .normal(let m, let sd): return "normal:\(m),\(sd)"
        case .exponential(let m): return "exp:\(m)"
        }
    }
}

public struct DistributionError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var description: String {
        "invalid distribution '\(text)': use N, LOW..HIGH, normal:MEAN,SD or exp:MEAN (non-negative numbers)"
    }
}
