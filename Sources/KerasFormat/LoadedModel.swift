import DenseNetEngine

/// A model read from a file in one call, as `keras.models.load_model` reads one: built from the
/// file's own description, its weights loaded, its optimizer state at hand.
///
/// ```swift
/// let loaded = try LoadedModel("model.keras")          // or .h5, .weights.h5, .safetensors
/// let classes = try loaded.model.predictClasses(images)
/// try loaded.model.save(to: "model.safetensors")        // the format from the name
/// ```
public struct LoadedModel {
    /// The built model, its weights loaded from the file.
    public let model: Model
    /// What the model was built from: a preset's name, or "the file's model_config".
    public let architecture: String
    /// The file's format, told from its contents.
    public let format: WeightFileFormat
    /// The optimizer state the file holds (`StoredOptimizer.resolved(for:variables:)` matches it).
    public let optimizer: StoredOptimizer?

    /// Reads `path`: a densenet-io checkpoint rebuilds its recorded model, a tf-keras full-model file
    /// or `.keras` archive of a functional model its `model_config`; a file that names no architecture
    /// (weights-only files, a subclassed model's) goes into `preset` when given, else into the Keras
    /// Applications DenseNet its weights show, else into the first preset (`ModelPreset.all`, default
    /// input shape and classes) whose every weight it holds (`ModelChoice`).
    public init(_ path: String, preset: String? = nil) throws {
        let file = try WeightFile(path)
        let choice = try ModelChoice(for: file, preset: preset)
        guard choice.fitsFile else { throw ModelChoice.noPresetFits(file) }
        model = try choice.build()
        (architecture, format) = (choice.name, file.format)
        optimizer = try model.loadWeights(from: file)
    }
}

extension Model {
    /// Writes the weights to `path` in the format its name says (`.h5`, `.weights.h5`, `.keras`,
    /// `.safetensors`), with `optimizer` where that format holds optimizer state.
    public func save(to path: String, optimizer: TrainedOptimizer? = nil) throws {
        guard let format = WeightFileFormat(fileName: path), format.holdsWeights else {
            throw KerasFormatError(
                .wrongFormat, file: path, expected: "a name ending in .h5, .weights.h5, .keras or .safetensors", found: path)
        }
        try saveWeights(to: path, format: format, optimizer: optimizer)
    }
}
