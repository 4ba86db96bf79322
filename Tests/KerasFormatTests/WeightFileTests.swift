import DenseNetEngine
import Foundation
import KerasFormat
import Testing
import TestSupport

/// The one format detector (`WeightFile`) and the one format list (`WeightFileFormat`).
@Suite struct WeightFileTests {
    @Test func formatsHaveOneCommandLineNameAndOneDescriptionEach() {
        #expect(
            WeightFileFormat.allCases.map(\.name) == [
                "keras2", "keras3", "safetensors", "keras", "checkpoint", "keras2-optimizer", "torch-optimizer", "pth"
            ])
        #expect(WeightFileFormat.allCases.allSatisfy { WeightFileFormat(name: $0.name) == $0 })
        #expect(WeightFileFormat(name: "tfKerasWeights") == nil)
        #expect(WeightFileFormat.tfKerasModel.description == "tf-keras full model / checkpoint (.h5)")
        #expect(WeightFileFormat.kerasArchive.description == "Keras 3 archive (.keras)")
        #expect(
            WeightFileFormat.allCases.map(\.family) == [
                .tfKeras, .keras3, .safetensors, .keras3, .tfKeras, .tfKeras, .safetensors, .safetensors
            ])
        #expect(WeightFileFormat.allCases.filter { !$0.isWritable } == [.pyTorchCheckpoint])
        #expect(WeightFileFormat.allCases.filter { !$0.holdsWeights } == [.tfKerasOptimizer, .torchOptimizer])
        #expect(
            ["w.h5", "w.hdf5", "w.weights.h5", "w.keras", "w.safetensors", "w.optimizer.safetensors", "w.pt", "w.pth", "w.bin"].map(
                WeightFileFormat.init(fileName:))
                == [
                    .tfKerasWeights, .tfKerasWeights, .keras3Weights, .kerasArchive, .safetensors, .torchOptimizer, .pyTorchCheckpoint,
                    .pyTorchCheckpoint, nil
                ])
    }

    @Test func formatNamesAreReadInAnyLetterCase() {
        #expect(
            ["KERAS2", "Keras3", "SafeTensors", "Keras", "CheckPoint", "Keras2-Optimizer", "TORCH-optimizer", "PTH"].map(
                WeightFileFormat.init(name:)) == WeightFileFormat.allCases)
        #expect(WeightFileFormat(name: "keras 3") == nil)
    }

    @Test func theLongestEndingNamesTheFormat() {
        #expect(WeightFileFormat.fileExtension(of: "run/w.weights.h5") == ".weights.h5")
        #expect(WeightFileFormat.fileExtension(of: "w.h5") == ".h5")
        #expect(WeightFileFormat.fileExtension(of: "w.h5.bak") == nil)
        #expect(
            WeightFileFormat.allCases.map { $0.fileExtensions[0] } == [
                ".h5", ".weights.h5", ".safetensors", ".keras", ".h5", ".h5", ".optimizer.safetensors", ".pth"
            ])
    }

    /// A write into a folder that does not exist fails before any work, naming the file and the
    /// folder, not the temporary file the write goes through nor libhdf5's error stack.
    @Test func aWriteIntoAMissingFolderNamesTheFolder() throws {
        let model = try makeMiniModel()
        let optimizer = TrainedOptimizer(Optimizer(variables: model.trainableVariables, config: .adam(AdamConfig())))
        let folder = temporaryPath("absent")
        for format in WeightFileFormat.allCases where format.isWritable {
            let path = "\(folder)/w\(format.fileExtensions[0])"
            #expect(throws: KerasFormatError(.io, file: path, found: "no such directory \(folder)")) {
                try model.saveWeights(to: path, format: format, optimizer: format.holdsWeights ? nil : optimizer)
            }
        }
    }

    @Test func everyFormatIsToldFromItsContents() throws {
        let model = try makeMiniModel()
        let optimizer = TrainedOptimizer(Optimizer(variables: model.trainableVariables, config: .adam(AdamConfig())))
        for format in WeightFileFormat.allCases where format.isWritable {
            let path = temporaryPath("no-telling-name.bin")
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.saveWeights(to: path, format: format, optimizer: format.holdsWeights ? nil : optimizer)
            let file = try WeightFile(path)
            #expect(file.format == format)
            #expect((file.hdf5 != nil) == [.tfKerasWeights, .keras3Weights, .tfKerasModel, .tfKerasOptimizer].contains(format))
        }
    }

    /// A `.pth` is told from its zip entries, whatever its name; an unreadable zip named `.pth` is taken for one,
    /// so its error speaks of torch.save's layout, and the format is never written.
    @Test func aTorchSaveZipIsToldFromItsEntries() throws {
        try withTemporaryPath("state.bin") { path in
            try FileManager.default.copyItem(atPath: Fixture.path("pytorch/wrapped_state_dict.pth"), toPath: path)
            #expect(try WeightFile(path).format == .pyTorchCheckpoint)
        }
        #expect(try WeightFile(Fixture.path("hostile/pth_truncated.pth")).format == .pyTorchCheckpoint)
        #expect(try WeightFile(Fixture.keras3Archive).format == .kerasArchive)
        let model = try makeMiniModel()
        #expect(throws: KerasFormatError.self) { try model.saveWeights(to: temporaryPath("w.pth"), format: .pyTorchCheckpoint) }
    }

    @Test func oneDetectionServesListingConfigAndLoading() throws {
        let file = try WeightFile(Fixture.keras3Weights)
        #expect(try WeightListing.read(file).format == .keras3Weights)
        let model = try makeMiniModel()
        #expect(try model.loadWeights(from: file) == nil)
        #expect(throws: KerasFormatError.self) { try KerasModelConfig(contentsOf: file) }
        let archive = try WeightFile(Fixture.keras3Archive)
        #expect(try WeightListing.read(archive).format == .kerasArchive)
        #expect(try model.loadWeights(from: archive) != nil)  // the archive of a compiled model holds Adam's state
    }

    @Test func unusableFilesAreRefusedWithTheReason() throws {
        let empty = temporaryPath("empty.h5")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let cases: [(String, KerasFormatError.Reason, String)] = [
            (empty, .unknownFormat, "an empty file (0 bytes)"),
            (FileManager.default.temporaryDirectory.path, .io, "a directory, not a file"),
            (temporaryPath("absent.h5"), .io, "no such file"),
            (Fixture.tfKerasReference, .unknownFormat, "an HDF5 file with none of them")
        ]
        for (path, reason, found) in cases {
            let error = #expect(throws: KerasFormatError.self) { try WeightFile(path) }
            #expect(error?.reason == reason && error?.file == path && error?.found == found, "\(String(describing: error))")
        }
    }
}
