import DenseNetEngine

/// One layer's `config` object as read from a model config, with typed accessors that fail with
/// a `KerasFormatError` naming the file, the layer, what was expected and what was found.
struct LayerConfig {
    /// The layer's `config` object.
    let json: JSON
    let name: String
    let file: String
    /// Which Keras wrote the config.
    let flavor: KerasFlavor

    subscript(key: String) -> JSON? { json[key] }

    func failure(_ expected: String, _ found: JSON?) -> KerasFormatError {
        failure(expected, found.map { $0.stringValue ?? $0.description } ?? "none")
    }

    func failure(_ expected: String, _ found: String) -> KerasFormatError {
        KerasFormatError(.wrongFormat, file: file, layer: name, expected: expected, found: found)
    }

    func int(_ key: String) throws -> Int {
        guard let n = self[key]?.intValue else { throw failure("an integer \(key)", self[key]) }
        return n
    }

    func double(_ key: String, _ fallback: Double) throws -> Double {
        guard let value = self[key] else { return fallback }
        guard let n = value.doubleValue else { throw failure("a number \(key)", value) }
        return n
    }

    func bool(_ key: String, _ fallback: Bool) -> Bool { self[key]?.boolValue ?? fallback }

    /// A list of integers, nil for anything else.
    static func ints(_ value: JSON?) -> [Int]? {
        guard let list = value?.arrayValue else { return nil }
        let ints = list.compactMap(\.intValue)
        return ints.count == list.count ? ints : nil
    }

    /// An option Keras takes as one integer or two (`kernel_size`, `strides`, `pool_size`).
    func pair(_ key: String, _ fallback: (Int, Int)? = nil) throws -> (Int, Int) {
        if let n = self[key]?.intValue { return (n, n) }
        if let l = Self.ints(self[key]), l.count == 2 { return (l[0], l[1]) }
        if let fallback, self[key] == nil || self[key] == .null { return fallback }
        throw failure("\(key) as one or two integers", self[key])
    }

    func padding() throws -> Padding {
        let text = (self["padding"]?.stringValue ?? "valid").lowercased()
        guard let p = Padding(rawValue: text) else { throw failure("padding valid or same", text) }
        return p
    }

    func requireChannelsLast() throws {
        if let format = self["data_format"]?.stringValue, format != "channels_last" {
            throw failure("data_format channels_last (NHWC)", format)
        }
    }

    /// `activation`: a name (`None` and null mean linear) or a serialized activation object.
    func activation(_ allowed: [ActivationFunction]) throws -> ActivationFunction {
        let raw = self["activation"] ?? .string("linear")
        let text: String
        if let s = raw.stringValue {
            text = s
        } else if raw == .null {
            text = "linear"
        } else if let s = raw["config"]?["name"]?.stringValue ?? raw["class_name"]?.stringValue {
            text = s
        } else {
            throw failure("an activation name", raw)
        }
        guard let f = ActivationFunction(rawValue: text == "None" ? "linear" : text), allowed.contains(f) else {
            throw failure("activation \(allowed.map(\.rawValue).joined(separator: ", "))", text)
        }
        return f
    }

    /// `axis` of an image layer must be the channel axis: -1 or 3 (batch, H, W, C), or a list of it.
    func requireChannelAxis() throws {
        let raw = self["axis"] ?? .int(-1)
        let axes = Self.ints(raw) ?? [raw.intValue ?? 0]
        let rank = 4
        guard axes.count == 1, axes[0] == -1 || axes[0] == rank - 1 else { throw failure("the channel axis (-1 or 3)", raw) }
    }
}
