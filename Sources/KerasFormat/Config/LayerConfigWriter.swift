import DenseNetEngine

/// What a layer's `get_config()` needs besides the layer: the name written, which Keras writes
/// it, and the layer's input shapes; with the pieces several layers' configs share.
struct LayerConfigWriter {
    /// The layer's name in the config (Keras 3 names have no `/`).
    let name: String
    let flavor: KerasFlavor
    /// Per-sample input shapes (no batch axis), in argument order.
    let inputShapes: [[Int]]

    var isKeras3: Bool { flavor == .keras3 }

    /// The base `Layer.get_config()`: name, trainable and dtype (a string in tf-keras, a
    /// `DTypePolicy` in Keras 3).
    var base: [(String, JSON)] {
        [("name", .string(name)), ("trainable", .bool(true)), ("dtype", isKeras3 ? ModelConfig.keras3DTypePolicy : .string("float32"))]
    }

    /// The channel axis of the (batch-including) input, as Keras 3 writes axes: a positive number,
    /// as Keras Applications passes them (`bn_axis = 3`).
    var channelAxis: Int { inputShapes.first?.count ?? 3 }

    /// `GlorotUniform`, whose Keras 3 form has two more options.
    var glorotUniform: JSON {
        initializer("GlorotUniform", [("seed", .null)] + (isKeras3 ? [("input_axes", .null), ("output_axes", .null)] : []))
    }

    func initializer(_ className: String, _ config: [(String, JSON)] = []) -> JSON {
        .object([
            ("module", .string("keras.initializers")), ("class_name", .string(className)),
            ("config", .object(config)), ("registered_name", .null)
        ])
    }

    func pair(_ p: (Int, Int)) -> JSON { .array([.int(p.0), .int(p.1)]) }

    /// A per-sample shape with Keras' unknown batch dimension in front.
    static func batchShape(_ shape: [Int]) -> JSON { .array([.null] + shape.map { .int($0) }) }
}
