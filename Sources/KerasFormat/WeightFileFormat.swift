/// The file formats a model's weights go to and come from: the one list of them, with the name
/// the command line uses, the description it prints, and the naming family each belongs to.
///
/// A file's format is told from its name when it is written (`init?(fileName:)`) and from its
/// contents when it is read (`WeightFile`).
public enum WeightFileFormat: String, CaseIterable, Sendable, CustomStringConvertible {
    /// tf-keras HDF5 weights (`model.save_weights("w.h5")`, `TFKerasWeightsFormat`).
    case tfKerasWeights = "keras2"
    /// Keras 3 weights (`model.save_weights("w.weights.h5")`, `Keras3WeightsFormat`).
    case keras3Weights = "keras3"
    /// safetensors for PyTorch (`SafetensorsWeightsFormat`): torchvision names and layouts.
    case safetensors
    /// Keras 3 `.keras` archive (`KerasArchive`): config.json, metadata.json, model.weights.h5.
    case kerasArchive = "keras"
    /// tf-keras full-model `.h5` (`TFKerasModelFile`, `model.save("m.h5")`): model_config and
    /// model_weights; the command line calls it `checkpoint`, as tf-keras' ModelCheckpoint writes it.
    case tfKerasModel = "checkpoint"
    /// A tf-keras optimizer file: only an `optimizer_weights` group at the root
    /// (`hdf5_format.save_optimizer_weights_to_hdf5_group`), what users of a subclassed model keep
    /// beside `save_weights`. It holds no weights.
    case tfKerasOptimizer = "keras2-optimizer"
    /// torch.optim.Adam/AdamW state in safetensors (`PyTorchOptimizerState`), beside the safetensors
    /// weights of the same model. It holds no weights.
    case torchOptimizer = "torch-optimizer"
    /// A `torch.save` checkpoint (`.pth`, `PyTorchCheckpoint`), read without running its pickle;
    /// read only: densenet-io writes PyTorch's weights as safetensors.
    case pyTorchCheckpoint = "pth"

    /// The name the command line takes (`--to keras2`) and prints: the raw value.
    public var name: String { rawValue }

    /// The format named `name` on the command line (`keras2`, `keras3`, `safetensors`, `keras`,
    /// `checkpoint`, `keras2-optimizer`, `torch-optimizer`, `pth`), in any letter case: `Keras3` is `keras3`.
    public init?(name: String) { self.init(rawValue: name.lowercased()) }

    /// Whether the format's files hold a model's weights (all but the optimizer-only file).
    public var holdsWeights: Bool { ![.tfKerasOptimizer, .torchOptimizer].contains(self) }

    /// Whether densenet-io writes the format (all but `.pth`, which it only reads).
    public var isWritable: Bool { self != .pyTorchCheckpoint }

    /// The written format whose listing a file of this format compares with: itself, or
    /// safetensors for a `.pth` (the same names and layouts).
    public var writtenCounterpart: WeightFileFormat { isWritable ? self : .safetensors }

    /// Whether the format's files can hold optimizer state beside the weights.
    public var holdsOptimizerState: Bool {
        [.tfKerasModel, .kerasArchive, .keras3Weights, .tfKerasOptimizer, .torchOptimizer].contains(self)
    }

    /// Where optimizer state goes for this format's family when its files hold weights only.
    public var optimizerCompanion: WeightFileFormat { family == .safetensors ? .torchOptimizer : .tfKerasOptimizer }

    /// What `inspect` and `diff` print, e.g. "tf-keras weights (.h5)".
    public var description: String {
        switch self {
        case .tfKerasWeights: "tf-keras weights (.h5)"
        case .tfKerasModel: "tf-keras full model / checkpoint (.h5)"
        case .tfKerasOptimizer: "tf-keras optimizer state (.h5)"
        case .torchOptimizer: "PyTorch optimizer state (safetensors)"
        case .keras3Weights: "Keras 3 weights (.weights.h5)"
        case .kerasArchive: "Keras 3 archive (.keras)"
        case .safetensors: "safetensors"
        case .pyTorchCheckpoint: "PyTorch checkpoint (torch.save zip, .pth)"
        }
    }

    /// The naming family whose stored paths the format's files share.
    public var family: NamingFamily {
        switch self {
        case .tfKerasWeights, .tfKerasModel, .tfKerasOptimizer: .tfKeras
        case .keras3Weights, .kerasArchive: .keras3
        case .safetensors, .torchOptimizer, .pyTorchCheckpoint: .safetensors
        }
    }

    /// The file-name endings the format's files have; a new file gets the first. A name picks the
    /// first format with its longest ending, so `.h5` is tf-keras weights, never the optimizer file.
    public var fileExtensions: [String] {
        switch self {
        case .tfKerasWeights, .tfKerasModel, .tfKerasOptimizer: [".h5", ".hdf5"]
        case .keras3Weights: [".weights.h5"]
        case .kerasArchive: [".keras"]
        case .safetensors: [".safetensors"]
        case .torchOptimizer: [".optimizer.safetensors"]
        case .pyTorchCheckpoint: [".pth", ".pt"]
        }
    }

    /// The ending of `fileName` that names a format, the longest one (`.weights.h5` rather than
    /// `.h5`); nil when no format's does.
    public static func fileExtension(of fileName: String) -> String? {
        allCases.flatMap(\.fileExtensions).filter(fileName.hasSuffix).max { $0.count < $1.count }
    }

    /// The format a new file gets from its name: `.weights.h5` is Keras 3, any other `.h5` tf-keras
    /// weights (as Keras' `save_weights` decides), `.keras` an archive, `.optimizer.safetensors`
    /// PyTorch optimizer state, any other `.safetensors` safetensors weights.
    public init?(fileName: String) {
        guard let ending = Self.fileExtension(of: fileName),
            let format = Self.allCases.first(where: { $0.fileExtensions.contains(ending) })
        else { return nil }
        self = format
    }
}
