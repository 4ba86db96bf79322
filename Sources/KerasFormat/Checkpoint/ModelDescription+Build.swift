import DenseNetEngine

extension ModelDescription {
    /// Rebuilds the described model — from its preset, else from the Keras `model_config` the
    /// checkpoint carries — its variables initialised as the run's were (the weights and state then
    /// come from the checkpoint), running on `parallel`'s workers.
    public func build(parallel: Parallel = .automatic()) throws -> Model {
        if let preset {
            return try ModelPreset.named(preset).build(
                inputShape: inputShape, classes: classes, seed: weightSeed, parallel: parallel)
        }
        guard let modelConfig else {
            throw KerasFormatError(
                .malformed, file: "checkpoint", expected: "a model preset or a Keras model_config",
                found: "neither")
        }
        return try KerasModelConfig(json: modelConfig, file: "model_config").makeModel(seed: weightSeed, parallel: parallel)
    }
}
