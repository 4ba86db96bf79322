import ArgumentParser
import DenseNetEngine

/// `--model NAME [--input-shape H,W,C] [--classes N]`, shared by the commands that build a model.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The architecture.", valueName: "name"))
    var model = "densenet-mini"

    @Option(help: ArgumentHelp("Input shape H,W,C (default: the model's own).", valueName: "h,w,c"),
            transform: { text in
                let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 3, let shape = parts as? [Int], shape.allSatisfy({ $0 > 0 }) else {
                    throw ValidationError("--input-shape takes three positive numbers H,W,C, got \(text)")
                }
                return shape
            })
    var inputShape: [Int]?

    @Option(help: "Number of classes (default: the model's own).")
    var classes: Int?

    /// Builds the chosen model with its variables initialised from `seed`.
    func build(seed: UInt64 = 0) throws -> Model {
        try ModelPreset.named(model).build(inputShape: inputShape, classes: classes, seed: seed)
    }
}
