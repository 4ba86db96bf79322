import DenseNetEngine

/// MaxPooling2D and AveragePooling2D share their config, as they share Keras' `BasePooling`.
protocol Pooling2DCodec: KerasLayerCodec {
    var poolSize: (Int, Int) { get }
    var strides: (Int, Int) { get }
    var padding: Padding { get }
    init(poolSize: (Int, Int), strides: (Int, Int)?, padding: Padding, name: String?)
}

extension Pooling2DCodec {
    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [
            ("pool_size", writer.pair(poolSize)), ("padding", .string(padding.rawValue)),
            ("strides", writer.pair(strides)), ("data_format", .string("channels_last"))
        ]
    }

    /// Strides default to the pool size, as in Keras.
    static func make(from config: LayerConfig) throws -> Self {
        try config.requireChannelsLast()
        let size = try config.pair("pool_size", (2, 2))
        return Self(poolSize: size, strides: try config.pair("strides", size), padding: try config.padding(), name: config.name)
    }
}

extension MaxPooling2D: Pooling2DCodec {
    static var configClassName: String { "MaxPooling2D" }
}

extension AveragePooling2D: Pooling2DCodec {
    static var configClassName: String { "AveragePooling2D" }
}
