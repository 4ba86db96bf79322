import ArgumentParser
import DenseNetEngine
import KerasFormat

/// `--model NAME [--input-shape H,W,C] [--classes N]`, shared by the commands that build a model.
struct ModelOptions: ParsableArguments {
    static let defaultModel = "densenet-mini"

    @Option(
        name: .customLong("model"),
        help: ArgumentHelp(
            "The architecture (default: the file's own model config, else the DenseNet its weights show, else the preset they fit).",
            valueName: "name"),
        completion: .list(ModelPreset.all.map(\.name)))
    var modelName: String?

    @Option(
        help: ArgumentHelp("Input shape H,W,C (default: the model's own).", valueName: "h,w,c"),
        transform: { text in
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, let shape = parts as? [Int], shape.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--input-shape takes three positive numbers H,W,C, got \(text)")
            }
            return shape
        })
    var inputShape: [Int]?

    @Option(
        help: ArgumentHelp(
            "The four dense blocks' layer counts, replacing the model's (Keras' DenseNet(blocks=…), torchvision's block_config), "
                + "e.g. 2,2,2,2.",
            valueName: "n,n,n,n"),
        transform: { text in
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 4, let blocks = parts as? [Int], blocks.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--blocks takes four positive numbers, got \(text)")
            }
            return blocks
        })
    var blocks: [Int]?

    @Option(help: "Number of classes (default: the model's own).")
    var classes: Int?

    @Flag(
        inversion: .prefixedNo,
        help: "Keep the preset's classifier (Keras' include_top, the default) or leave it out, for a feature extractor.")
    var includeTop = true

    @Option(
        help: ArgumentHelp(
            "Without the top: global pooling of the last block's features, avg, max or none (Keras' pooling; ignored with the top, as in Keras).",
            valueName: "avg|max|none"))
    var pooling: Pooling = .none

    /// Keras Applications' `pooling` values; `none` keeps the feature map as the output.
    enum Pooling: String, ExpressibleByArgument, CaseIterable {
        case avg, max, none
        var engine: DenseNetPooling? { DenseNetPooling(rawValue: rawValue) }
    }

    /// The preset's name: `--model`, else the default.
    var model: String { modelName ?? Self.defaultModel }

    /// Builds the chosen preset with its variables initialised from `seed`.
    func build(seed: UInt64 = 0, parallel: Parallel = .automatic()) throws -> Model {
        try ModelPreset.named(model).build(
            inputShape: inputShape, classes: classes, includeTop: includeTop, pooling: pooling.engine,
            blocks: blocks, seed: seed, parallel: parallel)
    }

    /// How the model for `file` is chosen (`ModelChoice`): the `--model` preset when given; else the
    /// model a checkpoint records or a Keras file's own config describes; else the DenseNet the
    /// weights show; else the first preset whose weights the file holds.
    func choice(for file: WeightFile) throws -> ModelChoice {
        try ModelChoice(
            for: file, preset: modelName,
            arguments: .init(inputShape: inputShape, classes: classes, includeTop: includeTop, pooling: pooling.engine, blocks: blocks))
    }

    /// The model for the weights in `file` (see `choice(for:)`) with its name.
    func build(for file: WeightFile, seed: UInt64 = 0) throws -> (model: Model, name: String) {
        let choice = try choice(for: file)
        return (try choice.build(seed: seed), choice.name)
    }
}
