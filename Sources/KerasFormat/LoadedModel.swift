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
    /// (weights-only files, a subclassed model's) goes into `preset` when given, else into the first
    /// preset (`ModelPreset.all`, default input shape and classes) whose every weight it holds.
    public init(_ path: String, preset: String? = nil) throws {
        let file = try WeightFile(path)
        format = file.format
        if preset == nil, let (model, architecture) = try Self.describedModel(file) {
            (self.model, self.architecture) = (model, architecture)
            optimizer = try model.loadWeights(from: file)
            return
        }
        let candidates = try preset.map { [try ModelPreset.named($0)] } ?? ModelPreset.all
        var firstError: Error?
        for candidate in candidates {
            let model = try candidate.build()
            do {
                optimizer = try model.loadWeights(from: file)
                (self.model, architecture) = (model, candidate.name)
                return
            } catch {
                firstError = firstError ?? error
            }
        }
        if preset != nil, let firstError { throw firstError }
        throw KerasFormatError(
            .wrongFormat, file: path, expected: "the weights of one of \(candidates.map(\.name).joined(separator: ", "))",
            found: "none fits (\(firstError.map { "\($0)" } ?? "no preset")); name the architecture")
    }

    /// The model a file describes itself; nil when it describes none the toolkit can build.
    private static func describedModel(_ file: WeightFile) throws -> (Model, String)? {
        guard [.tfKerasModel, .kerasArchive].contains(file.format) else { return nil }
        if let info = try? TrainingCheckpoint.readInfo(file) {
            return (try info.model.build(), info.model.preset ?? "the checkpoint's model_config")
        }
        do {
            return (try KerasModelConfig(contentsOf: file).makeModel(), "the file's model_config")
        } catch let error as KerasFormatError where error.reason == .wrongFormat {
            return nil  // a subclassed model's config names only its class
        }
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
