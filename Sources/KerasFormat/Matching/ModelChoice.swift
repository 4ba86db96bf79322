import DenseNetEngine

/// Which model a weight file goes into, chosen once for every command and for `LoadedModel`, in
/// the order `keras.models.load_model` users would expect:
///
/// 1. a named preset (the CLI's `--model`), built with the given arguments;
/// 2. the model the file describes itself: a densenet-io checkpoint's recorded model, the
///    functional graph of a tf-keras full-model file's or `.keras` archive's `model_config`;
/// 3. the Keras Applications DenseNet its names and shapes show (`RecognizedDenseNet`: any block
///    counts, input channels, classes, top);
/// 4. the first preset (default arguments, or those given) whose every weight the file holds
///    (the tutorial's `densenet-mini`: a subclassed model's file names only its class).
public final class ModelChoice {
    /// What the model was built as: a preset's name, "the file's model_config", or the recognised DenseNet.
    public let name: String
    /// The DenseNet the file's weights show, when they show one (also when a preset was named).
    public let recognized: RecognizedDenseNet?
    private let make: (UInt64) throws -> Model
    /// false when no rule found a model for the file and the closest preset stands in: loading will fail.
    public private(set) var fitsFile = true
    /// A model built (seed 0) while choosing, handed out by the first `build(seed: 0)`.
    private var spare: Model?

    /// Keras Applications' arguments given by the user; nil takes the file's or the preset's own.
    public struct Arguments {
        /// `--input-shape`: height, width, channels.
        public var inputShape: [Int]?
        /// `--classes`: the classifier's outputs.
        public var classes: Int?
        /// false: leave the classifier out (`include_top=False`) even when the file has one.
        public var includeTop: Bool
        /// `--pooling` for a model without its top (Keras' `pooling`: none, avg or max).
        public var pooling: DenseNetPooling?
        /// `--blocks`: other dense-block counts for a Keras Applications preset (torchvision's `block_config`).
        public var blocks: [Int]?

        /// The arguments as given; each nil (or the default) leaves the choice to the file or preset.
        public init(
            inputShape: [Int]? = nil, classes: Int? = nil, includeTop: Bool = true, pooling: DenseNetPooling? = nil, blocks: [Int]? = nil
        ) {
            self.inputShape = inputShape
            self.classes = classes
            self.includeTop = includeTop
            self.pooling = pooling
            self.blocks = blocks
        }
    }

    /// Chooses the model for `file` (see the type's rules); `preset` names one outright.
    public init(for file: WeightFile, preset: String? = nil, arguments: Arguments = Arguments()) throws {
        let listing = try? WeightListing.read(file)
        recognized = listing.flatMap(RecognizedDenseNet.init)
        let a = arguments
        if let preset {
            let chosen = try ModelPreset.named(preset)
            (name, make) = (
                preset,
                {
                    try chosen.build(
                        inputShape: a.inputShape, classes: a.classes, includeTop: a.includeTop, pooling: a.pooling, blocks: a.blocks,
                        seed: $0)
                }
            )
            return
        }
        if let (name, make, model) = try Self.describedModel(file) {
            (self.name, self.make, spare) = (name, make, model)
            return
        }
        if let recognized {
            let built = RecognizedDenseNet(
                blocks: recognized.blocks, inputChannels: a.inputShape?[2] ?? recognized.inputChannels,
                classes: a.includeTop ? a.classes ?? recognized.classes : nil)
            name = recognized.presetName ?? "densenet with blocks \(recognized.blocks)"
            make = { try built.build(inputShape: a.inputShape, pooling: a.pooling, seed: $0) }
            return
        }
        // No preset takes the file: the one closest in weight count stands in, so that a command can
        // show how the file differs (`fitsFile` false); `LoadedModel` refuses.
        var closest: (distance: Int, name: String, build: (UInt64) throws -> Model, model: Model)?
        var buildError: Error?  // the user's arguments do not apply to a preset (densenet-mini without its top)
        let stored = listing?.weights.filter { $0.kind != .optimizer && !$0.isPyTorchOnly }.count ?? 0
        for candidate in ModelPreset.all {
            let build = {
                try candidate.build(inputShape: a.inputShape, classes: a.classes, includeTop: a.includeTop, pooling: a.pooling, seed: $0)
            }
            let model: Model
            do { model = try build(0) } catch {
                buildError = buildError ?? error
                continue
            }
            do {
                try model.loadWeights(from: file)
                (name, make, spare, fitsFile) = (candidate.name, build, model, true)
                return
            } catch {
                let distance = abs(model.weights.count - stored)
                if closest == nil || distance < closest!.distance { closest = (distance, candidate.name, build, model) }
            }
        }
        if let buildError { throw buildError }
        guard let closest else {
            throw KerasFormatError(.wrongFormat, file: file.path, expected: "a preset to build", found: "none builds")
        }
        (name, make, spare, fitsFile) = (closest.name, closest.build, closest.model, false)
    }

    /// "none fits (46 weights in 14 layers (…)); name the architecture with --model", for refusals.
    public static func noPresetFits(_ file: WeightFile) -> KerasFormatError {
        let held = (try? WeightListing.read(file)).map { WeightListingSummary($0).line } ?? "no weights the toolkit can list"
        return KerasFormatError(
            .wrongFormat, file: file.path,
            expected: "the weights of a Keras Applications DenseNet or of \(ModelPreset.all.map(\.name).joined(separator: ", "))",
            found: "none fits (\(held)); name the architecture with --model")
    }

    /// The model, its variables initialised from `seed` (the file's weights then replace them).
    public func build(seed: UInt64 = 0) throws -> Model {
        if seed == 0, let model = spare {
            spare = nil
            return model
        }
        return try make(seed)
    }

    /// The model a file describes itself; nil when it describes none the toolkit can build.
    private static func describedModel(_ file: WeightFile) throws -> (String, (UInt64) throws -> Model, Model)? {
        guard [.tfKerasModel, .kerasArchive].contains(file.format) else { return nil }
        if let info = try? TrainingCheckpoint.readInfo(file) {
            return (info.model.preset ?? "the checkpoint's model_config", { _ in try info.model.build() }, try info.model.build())
        }
        do {
            let config = try KerasModelConfig(contentsOf: file)
            return ("the file's model_config", { try config.makeModel(seed: $0) }, try config.makeModel())
        } catch let error as KerasFormatError where error.reason == .wrongFormat {
            return nil  // a subclassed model's config names only its class
        }
    }
}
