import DenseNetEngine
import Foundation
import KerasFormat
import TestSupport
import Testing

/// State dicts of torchvision's and timm's DenseNets as their users save them (safetensors without
/// densenet-io's metadata, `torch.save`'s `.pth`), written by Fixtures/pytorch/generate_pytorch_densenets.py
/// with the outputs torchvision computed for the stored inputs.
@Suite struct PyTorchDenseNetTests {
    /// A PyTorch fixture: its weight file and its `_io.h5` (inputs N×H×W×C, softmax outputs).
    struct Source: CustomStringConvertible, Sendable {
        let name: String
        let blocks: [Int]
        let inputShape: [Int]
        let classes: Int
        let folder: String
        var description: String { name }
        var weights: String { Fixture.path("\(folder)/\(name).safetensors") }
        var pth: String { Fixture.path("\(folder)/\(name).pth") }
        var reference: String { Fixture.path("\(folder)/\(name)_io.h5") }
        var isPresent: Bool { FileManager.default.fileExists(atPath: weights) }

        func model() throws -> Model {
            try Model(
                root: DenseNetApplication.build(DenseNetOptions(blocks: blocks, inputShape: inputShape, classes: classes)),
                inputShape: inputShape)
        }
    }

    static let small = [
        Source(name: "torchvision_densenet_small", blocks: [2, 2, 2, 2], inputShape: [40, 40, 3], classes: 10, folder: "pytorch"),
        Source(name: "timm_densenet_small", blocks: [2, 2, 2, 2], inputShape: [40, 40, 3], classes: 10, folder: "pytorch")
    ]
    static let large = [
        ("torchvision_densenet121", DenseNetApplication.densenet121Blocks),
        ("torchvision_densenet169", DenseNetApplication.densenet169Blocks),
        ("torchvision_densenet201", DenseNetApplication.densenet201Blocks), ("timm_densenet121", DenseNetApplication.densenet121Blocks)
    ].map { Source(name: $0.0, blocks: $0.1, inputShape: [64, 64, 3], classes: 1000, folder: "pytorch/generated") }
    static let largePresent = large.allSatisfy(\.isPresent)

    /// Largest difference from torchvision's softmax outputs accepted; the measured one is printed.
    /// float32 rounding of two implementations (BatchNorm's epsilon, 1e-5 in PyTorch and 1.001e-5 in
    /// Keras, moves these outputs by less than that: docs/pytorch.md).
    static let tolerance: Float = 5e-7

    func predictionDifference(_ model: Model, _ source: Source) throws -> Float {
        let (inputs, outputs) = try readReference(source.reference)
        let batch = try Tensor(shape: [inputs.count / source.inputShape.reduce(1, *)] + source.inputShape, scalars: inputs)
        return maxAbsDifference(try model.predict(batch).scalars, outputs)
    }

    @Test(arguments: small)
    func plainSafetensorsPredictLikeTorchvision(_ source: Source) throws {
        let model = try source.model()
        #expect(try model.loadWeights(from: source.weights) == .safetensors)
        let difference = try predictionDifference(model, source)
        print("\(source.name): largest difference from torchvision's outputs \(difference)")
        #expect(difference <= Self.tolerance)
    }

    @Test(.enabled(if: largePresent, "run `generate_pytorch_densenets.py --large` for DenseNet-121/169/201"), arguments: large)
    func largeDenseNetsPredictLikeTorchvision(_ source: Source) throws {
        let model = try source.model()
        try model.loadWeights(from: source.pth)
        let difference = try predictionDifference(model, source)
        print("\(source.name): largest difference from torchvision's outputs \(difference)")
        #expect(difference <= 1e-5)
    }

    /// densenet-io's safetensors of a model loaded from torchvision's file has torchvision's names,
    /// shapes and values (what `load_state_dict(strict=True)` needs); only the batch counters differ.
    @Test func writtenSafetensorsHaveTorchvisionsTensors() throws {
        let source = Self.small[0]
        let model = try source.model()
        try model.loadWeights(from: source.weights)
        let original = try SafetensorsFile.read(source.weights)
        let written = try SafetensorsWeightsFormat.file(for: SafetensorsWeightLayout(model: model))
        #expect(Set(written.tensors.keys) == Set(original.tensors.keys))
        for (name, tensor) in original.tensors where !name.hasSuffix("num_batches_tracked") {
            #expect(written.tensors[name] == tensor, "\(name)")
        }
    }

    /// `torch.save` of the same state dict reads as the same tensors, bit for bit.
    @Test func pthHoldsTheSafetensorsTensors() throws {
        let source = Self.small[0]
        let checkpoint = try PyTorchCheckpoint.read(source.pth)
        let safetensors = try SafetensorsFile.read(source.weights)
        #expect(checkpoint.tensors.count == 127)
        #expect(checkpoint.tensors == safetensors.tensors)
        #expect(try WeightFile(source.pth).format == .pyTorchCheckpoint)
        let model = try source.model()
        try model.loadWeights(from: source.pth)
        #expect(try predictionDifference(model, source) <= Self.tolerance)
    }

    /// `{"state_dict": …, "epoch": 3, …}` and `{"model": {"module.…": …}}`; `fc.weight` is torch's
    /// strided view `arange(24).reshape(4, 6)[:, ::2]`, read as `tensor.contiguous()` would.
    @Test(arguments: ["wrapped_state_dict.pth", "wrapped_model_dataparallel.pth"])
    func wrappedCheckpoints(_ name: String) throws {
        let file = try PyTorchCheckpoint.read(Fixture.path("pytorch/\(name)"))
        #expect(file.tensors.keys.sorted() == ["bn.num_batches_tracked", "fc.bias", "fc.weight"])
        #expect(file.tensors["fc.weight"]?.shape == [4, 3])
        #expect(file.tensors["fc.weight"]?.floats == stride(from: 0, to: 24, by: 2).map(Float.init))
        #expect(file.tensors["fc.bias"]?.floats == [0.5, -1.5, 2, 3.25])
        #expect(file.tensors["bn.num_batches_tracked"]?.dtype == .i64)
        #expect(file.tensors["bn.num_batches_tracked"]?.doubles == [7])
    }

    /// An empty tensor whose offset lies past its storage (torch loads it: nothing of the storage is read)
    /// reads as empty; gathering it once sliced the storage out of range, a trap.
    @Test func emptyViewPastItsStorageReadsEmpty() throws {
        let file = try PyTorchCheckpoint.read(Fixture.path("hostile/pth_empty_view_far_offset.pth"))
        #expect(file.tensors["w"]?.shape == [0])
        #expect(file.tensors["w"]?.bytes.isEmpty == true)
    }

    /// Each hostile pickle is refused naming the global it asked for; the truncated zip as unreadable.
    @Test(arguments: [
        ("pth_os_system.pth", "GLOBAL posix.system"), ("pth_builtins_eval.pth", "GLOBAL builtins.eval"),
        ("pth_unknown_global.pth", "GLOBAL __main__.Unknown"), ("pth_truncated.pth", "unreadable zip")
    ])
    func hostilePicklesAreRefused(_ name: String, _ says: String) throws {
        let path = Fixture.path("hostile/\(name)")
        #expect(throws: KerasFormatError.self) { try PyTorchCheckpoint.read(path) }
        do {
            _ = try PyTorchCheckpoint.read(path)
        } catch let error as KerasFormatError {
            #expect(error.description.contains(says), "\(error)")
            #expect(error.file == path)
        }
    }
}
