import DenseNetEngine

/// GlobalAveragePooling2D and GlobalMaxPooling2D share their config, as they share Keras'
/// `BaseGlobalPooling`.
protocol GlobalPooling2DCodec: KerasLayerCodec {
    init(name: String?)
}

extension GlobalPooling2DCodec {
    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [("data_format", .string("channels_last")), ("keepdims", .bool(false))]
    }

    static func make(from config: LayerConfig) throws -> Self {
        try config.requireChannelsLast()
        guard !config.bool("keepdims", false) else { throw config.failure("keepdims false", "keepdims true") }
        return Self(name: config.name)
    }
}

extension GlobalAveragePooling2D: GlobalPooling2DCodec {
    static var configClassName: String { "GlobalAveragePooling2D" }
}

extension GlobalMaxPooling2D: GlobalPooling2DCodec {
    static var configClassName: String { "GlobalMaxPooling2D" }
}
