import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

/// Adam's state for `torch.optim.Adam` (`--to torch-optimizer`, `PyTorchOptimizerState`): the tutorial
/// run tf-keras saved (weights + optimizer pair, iteration 5), in PyTorch's names and layouts.
@Suite struct PyTorchOptimizerTests {
    /// The tutorial model with tf-keras' weights and its Adam state.
    func tutorialRun() throws -> (model: Model, optimizer: TrainedOptimizer) {
        let model = try makeMiniModel()
        try model.loadWeights(from: Fixture.tfKerasWeights)
        let stored = try #require(try WeightFile(CheckpointFixture.tutorialOptimizer).readOptimizer())
        return (model, try stored.resolved(for: .adam(AdamConfig()), variables: model.trainableVariables))
    }

    @Test func adamStateTakesEachParametersNameAndLayout() throws {
        let (model, optimizer) = try tutorialRun()
        let path = temporaryPath("adam.optimizer.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveWeights(to: path, format: .torchOptimizer, optimizer: optimizer)
        let input = try WeightFile(path)
        #expect(input.format == .torchOptimizer)
        let file = try SafetensorsFile.read(path)
        let layout = SafetensorsWeightLayout(model: model)
        let kernel = try #require(layout.entries.first { $0.variable === model.trainableVariables[0] })
        #expect(kernel.name == "conv1.weight")
        #expect(file.tensors["state.conv1.weight.exp_avg"]?.floats == kernel.transform.apply(optimizer.state["momentum"]![0]))
        #expect(file.tensors["state.conv1.weight.exp_avg"]?.shape == kernel.torchShape)
        #expect(file.tensors["state.dense2.bias.step"]?.floats == [5])
        #expect(file.metadata["params"]?.split(separator: ",").count == model.trainableVariables.count)
        let again = try #require(try input.readOptimizer())
        let config = try #require(try again.configuration())
        #expect(try again.resolved(for: config, variables: model.trainableVariables) == optimizer)
        // torch.optim keeps other slots for SGD and RMSprop: refused by name, nothing written.
        let sgd = TrainedOptimizer(Optimizer(variables: model.trainableVariables, config: .sgd(SGDConfig(momentum: 0.9))))
        let other = temporaryPath("sgd.optimizer.safetensors")
        #expect(throws: KerasFormatError.self) { try model.saveWeights(to: other, format: .torchOptimizer, optimizer: sgd) }
        #expect(!FileManager.default.fileExists(atPath: other))
    }

    /// For `Fixtures/check_pytorch_optimizer.py`: the tutorial run exported for PyTorch (weights and
    /// Adam state) and continued here 5 steps on the batches of `tutorial_steps.h5`, losses recorded.
    /// DENSENET_IO_TORCH_EXPORT names the folder; without it the files are checked and removed.
    @Test func exportForPyTorchCheck() throws {
        let folder = ProcessInfo.processInfo.environment["DENSENET_IO_TORCH_EXPORT"]
        let out = { (file: String) in folder.map { "\($0)/\(file)" } ?? temporaryPath(file) }
        let files = ["tutorial.safetensors", "tutorial.optimizer.safetensors", "tutorial.losses.json"].map(out)
        defer { if folder == nil { files.forEach { try? FileManager.default.removeItem(atPath: $0) } } }
        let (model, optimizer) = try tutorialRun()
        try model.saveWeights(to: files[0], format: .safetensors)
        try model.saveWeights(to: files[1], format: .torchOptimizer, optimizer: optimizer)
        let trainer = try Trainer(model: model, optimizer: optimizer.config, batchSize: 8)
        try trainer.optimizer.setState(optimizer.state)
        let batches = try File.open(Fixture.path("keras/tutorial_steps.h5")).root.group("batches")
        let images = try batches.dataset("images").read(as: Float.self).scalars
        let labels = try batches.dataset("labels").read(as: Int64.self).scalars.map { Int($0) }
        let size = 8 * 28 * 28
        var losses: [Double] = []
        for step in 0..<5 {
            let loss = try trainer.trainStep(
                images: Array(images[step * size..<(step + 1) * size]), labels: Array(labels[step * 8..<(step + 1) * 8]))
            losses.append(Double(loss))
        }
        try JSON.object([("losses", .array(losses.map { .double($0) }))]).description.write(
            toFile: files[2], atomically: true, encoding: .utf8)
        #expect(losses.allSatisfy { $0.isFinite })
        #expect(try WeightFile(files[1]).readOptimizer()?.iterations == 5)
    }
}
