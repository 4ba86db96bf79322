import DenseNetEngine

/// tf-keras' `InputLayer.get_config()` has `batch_input_shape`, Keras 3's `batch_shape`; neither
/// writes the base config's `trainable` or a dtype policy.
extension InputLayer: KerasLayerCodec {
    static var configClassName: String { "InputLayer" }

    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        [
            (writer.isKeras3 ? "batch_shape" : "batch_input_shape", LayerConfigWriter.batchShape(shape)), ("dtype", .string("float32")),
            ("sparse", .bool(false)), ("ragged", .bool(false)), ("name", .string(writer.name)), ("optional", .bool(false))
        ]
    }

    static func make(from config: LayerConfig) throws -> InputLayer {
        InputLayer(shape: try shape(from: config), name: config.name)
    }

    /// The per-sample input shape: the batch shape without its batch axis, every extent fixed.
    static func shape(from config: LayerConfig) throws -> [Int] {
        let batchShape = (config["batch_shape"] ?? config["batch_input_shape"])?.arrayValue ?? []
        let dims = batchShape.dropFirst().map { $0.intValue ?? -1 }
        guard !dims.isEmpty, dims.allSatisfy({ $0 > 0 }) else {
            throw config.failure("a fixed input shape", "batch shape \(JSON.array(batchShape))")
        }
        return dims
    }
}
