import DenseNetEngine
import KerasFormat

/// Loads a Keras file into the tutorial's DenseNet, classifies `images` (N × 28 × 28 × 1, pixels
/// in 0…1) and writes the weights for PyTorch.
func classifyAndConvert(kerasFile: String, images: Tensor, safetensorsFile: String) throws -> (probabilities: Tensor, classes: [Int]) {
    let model = try ModelPreset.named("densenet-mini").build()
    try model.loadWeights(from: kerasFile)  // tf-keras, Keras 3 or safetensors: told from the contents
    let probabilities = try model.predict(images)  // N × 10
    let classes = try model.predictClasses(images)  // N class indices
    try model.saveWeights(to: safetensorsFile, format: .safetensors)
    return (probabilities, classes)
}
