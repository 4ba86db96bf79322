/// Keras' `InputLayer`: the first layer of a functional model. It has no variables and passes its
/// input through, but it is one of `model.layers`, so it takes a place in both weight layouts (an
/// empty `input_1` group in tf-keras files, `layers/input_layer/vars` in Keras 3 files).
public final class InputLayer: Layer {
    /// `InputLayer`, the class name a model's config gives it.
    public let kerasClassName = "InputLayer"
    /// The layer name Keras gives the input, e.g. `input_1` (tf-keras) or `input_layer` (Keras 3).
    public let name: String?
    /// Per-sample shape (no batch axis), e.g. [224, 224, 3].
    public let shape: [Int]

    /// An input of one sample's `shape` (no batch dimension, e.g. `[28, 28, 1]`) named `name`.
    public init(shape: [Int], name: String) {
        self.shape = shape
        self.name = name
    }

    /// Always empty: an input holds no variables.
    public var ownVariables: [Variable] { [] }

    /// Returns its one input unchanged.
    ///
    /// - Throws: `EngineError` when given other than one tensor, or one whose shape is not `shape`.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        guard inputs.count == 1 else { throw EngineError.invalidArgument("InputLayer \(name ?? "") takes one tensor") }
        guard inputs[0].shape == shape else {
            throw EngineError.shapeMismatch(what: "input of \(name ?? "InputLayer")", expected: shape, got: inputs[0].shape)
        }
        return inputs[0]
    }
}

/// Which Keras wrote (or will read) a model: the two differ in automatic names, some Keras
/// Applications layer names, and BatchNormalization's moving-variance update.
public enum KerasFlavor: String, Sendable, CaseIterable {
    /// tf-keras 2.x (`tf.keras` before TensorFlow 2.16, or `tf_keras`): input `input_1`,
    /// DenseNet stem `conv1/conv`, Bessel-corrected moving variance.
    case tfKeras
    /// Keras 3: input `input_layer`, DenseNet stem `conv1_conv`, biased moving variance.
    case keras3

    /// The moving-variance update this Keras performs in training.
    public var movingVarianceUpdate: MovingVarianceUpdate {
        self == .tfKeras ? .besselCorrected : .biased
    }

    /// The automatic name of a functional model's first input.
    public var defaultInputName: String { self == .tfKeras ? "input_1" : "input_layer" }
}
