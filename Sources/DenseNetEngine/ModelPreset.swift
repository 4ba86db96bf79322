/// An architecture the toolkit builds by name (the CLI's `--model`).
public struct ModelPreset: Sendable {
    public let name: String
    public let summary: String
    public let defaultInputShape: [Int]
    public let defaultClasses: Int
    private let makeRoot: @Sendable (_ inputShape: [Int], _ classes: Int) throws -> any Layer

    public init(name: String, summary: String, defaultInputShape: [Int], defaultClasses: Int,
                makeRoot: @escaping @Sendable (_ inputShape: [Int], _ classes: Int) throws -> any Layer) {
        self.name = name
        self.summary = summary
        self.defaultInputShape = defaultInputShape
        self.defaultClasses = defaultClasses
        self.makeRoot = makeRoot
    }

    /// Builds the model (variables initialised from `seed`) for `inputShape` and `classes`, each
    /// defaulting to the preset's own.
    public func build(inputShape: [Int]? = nil, classes: Int? = nil, seed: UInt64 = 0) throws -> Model {
        let shape = inputShape ?? defaultInputShape
        return try Model(root: makeRoot(shape, classes ?? defaultClasses), inputShape: shape, seed: seed)
    }

    /// Every preset, by name.
    public static let all: [ModelPreset] = [
        ModelPreset(name: "densenet-mini", summary: "the tutorial DenseNet (tf.keras subclassed model)",
                    defaultInputShape: [28, 28, 1], defaultClasses: 10) { _, classes in
            guard classes == 10 else {
                throw EngineError.invalidArgument("densenet-mini has 10 classes, as the tutorial; got \(classes)")
            }
            return DenseNet.mini()
        },
    ] + DenseNetApplication.presets

    /// The preset called `name`; the error lists the known names.
    public static func named(_ name: String) throws -> ModelPreset {
        guard let preset = all.first(where: { $0.name == name }) else {
            throw EngineError.invalidArgument("unknown model \(name); known models: \(all.map(\.name).joined(separator: ", "))")
        }
        return preset
    }
}
