import DenseNetEngine
import Foundation
import HDF5
import TestSupport
import Testing
@testable import KerasFormat

/// Copies a fixture to a temporary path for a deliberately broken variant.
func brokenCopy(of fixture: String, _ name: String) throws -> String {
    let path = temporaryPath(name)
    try FileManager.default.copyItem(atPath: fixture, toPath: path)
    return path
}

@Suite struct InspectionTests {
    /// The tutorial model's totals: BatchNorm moving statistics are the non-trainable values.
    static func modelTotals() throws -> (trainable: Int, nonTrainable: Int, arrays: Int) {
        let model = try makeMiniModel()
        let trainable = model.trainableVariables.reduce(0) { $0 + $1.count }
        let all = model.weights.reduce(0) { $0 + $1.count }
        return (trainable, all - trainable, model.weights.count)
    }

    @Test func tfKerasWeightsAreListedWithoutAModel() throws {
        let listing = try WeightListing.read(Fixture.tfKerasWeights)
        #expect(listing.format == .tfKerasWeights)
        #expect(listing.attributes.contains { $0.name == "keras_version" && $0.value == "2.21.0" })
        #expect(listing.attributes.contains { $0.name == "backend" && $0.value == "tensorflow" })
        let report = try InspectionReport(listing, statistics: false)
        let totals = try Self.modelTotals()
        #expect(report.totals["trainable"]!.parameters == totals.trainable)
        #expect(report.totals["non-trainable"]!.parameters == totals.nonTrainable)
        #expect(report.totals["non-trainable"]!.parameters == 2 * (8 + 12 + 16 + 24 + 32 + 48))
        #expect(report.totals["optimizer"]!.arrays == 0)
        let gamma = try #require(listing.weights.first { $0.path.hasSuffix("batch_normalization_1/moving_mean:0") })
        #expect(gamma.group == "dense_layer")
        #expect(gamma.layer == "batch_normalization_1")
        #expect(gamma.index == 2)
        #expect(gamma.kind == .nonTrainable)
        #expect(gamma.shape == [12])
        #expect(gamma.dataType == "float32")
    }

    @Test func keras3WeightsAndArchiveAreListed() throws {
        let weights = try WeightListing.read(Fixture.keras3Weights)
        #expect(weights.format == .keras3Weights)
        let bn = try #require(weights.weights.first { $0.path == "dl1/layers/dense_unit_1/bn/vars/3" })
        #expect(bn.layer == "batch_normalization_1")
        #expect(bn.weight == "moving_variance")
        #expect(bn.kind == .nonTrainable)
        let report = try InspectionReport(weights, statistics: false)
        let totals = try Self.modelTotals()
        #expect(report.totals["trainable"]!.parameters == totals.trainable)
        #expect(report.totals["non-trainable"]!.parameters == totals.nonTrainable)

        let archive = try WeightListing.read(Fixture.path("keras/tutorial_keras3.keras"))
        #expect(archive.format == .kerasArchive)
        #expect(archive.attributes.contains { $0.name == "keras_version" && $0.value == "3.15.1" })
        let archiveReport = try InspectionReport(archive, statistics: true)
        #expect(archiveReport.totals["trainable"]!.parameters == totals.trainable)
        #expect(archiveReport.totals["optimizer"]!.arrays > 0)
        #expect(archiveReport.nonFinite == [])
    }

    @Test func tfKerasFullModelListsOptimizerStateSeparately() throws {
        let listing = try WeightListing.read(Fixture.path("keras/tiny_functional_ckpt.h5"))
        #expect(listing.format == .tfKerasModel)
        #expect(listing.attributes.contains { $0.name == "model_config" && $0.value.hasSuffix("bytes of JSON)") })
        let report = try InspectionReport(listing, statistics: true)
        #expect(report.totals["non-trainable"]!.arrays == 2)
        #expect(report.totals["optimizer"]!.arrays == listing.weights.filter { $0.path.hasPrefix("optimizer_weights/") }.count)
        #expect(report.totals["optimizer"]!.arrays > 0)
        let kernel = try #require(listing.weights.first { $0.path == "conv/conv/kernel:0" })
        #expect(kernel.layer == "conv")
        #expect(kernel.index == 0)
    }

    @Test func statisticsCountZerosNaNsAndInfinities() {
        let stats = WeightStatistics([1, 0, -3, .nan, .infinity, 0, 2])
        #expect(stats.min == -3)
        #expect(stats.max == 2)
        #expect(stats.mean == 0)
        #expect(stats.zeros == 2)
        #expect(stats.nans == 1)
        #expect(stats.infinities == 1)
        #expect(stats.count == 7)
        #expect(abs(stats.std! - (14.0 / 5).squareRoot()) < 1e-12)
        #expect(WeightStatistics([.nan]).mean == nil)
    }

    @Test func nanWeightsAreFlagged() throws {
        let path = try brokenCopy(of: Fixture.tfKerasWeights, "nan.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try replaceDataset(
            in: path, at: "dense_1/dense_net/dense_1/bias:0",
            with: NDArray([Float.nan, 1, 2, 3, 4, 5, 6, 7, .infinity, 9]))
        let report = try InspectionReport(WeightListing.read(path), statistics: true)
        #expect(report.nonFinite == ["dense_1/dense_net/dense_1/bias:0"])
        let bias = report.groups.flatMap(\.weights).first { $0.path == "dense_1/dense_net/dense_1/bias:0" }
        #expect(bias?.stats?.nans == 1)
        #expect(bias?.stats?.infinities == 1)
    }

    @Test func missingLayerGroupIsNamed() throws {
        let path = try brokenCopy(of: Fixture.tfKerasWeights, "missing.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try File.open(path, mode: .readWrite).root.unlink("transition_layer_1")
        #expect {
            try WeightListing.read(path)
        } throws: { error in
            let error = error as! KerasFormatError
            return error.reason == .missingLayer && error.layer == "transition_layer_1"
        }
    }

    @Test func unusableFilesAreRejected() throws {
        let empty = temporaryPath("empty.h5")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let truncated = temporaryPath("truncated.h5")
        let bytes = try #require(FileManager.default.contents(atPath: Fixture.tfKerasWeights))
        _ = FileManager.default.createFile(atPath: truncated, contents: bytes.prefix(bytes.count / 2))
        defer { [empty, truncated].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        for path in [empty, truncated, Fixture.tfKerasReference] {
            #expect {
                try WeightListing.read(path)
            } throws: { error in
                let error = error as! KerasFormatError
                return error.reason == .unknownFormat && error.file == path
            }
        }
        #expect(throws: KerasFormatError.self) { try WeightListing.read(temporaryPath("absent.h5")) }
    }

    @Test func safetensorsListingRecordsKerasOrigin() throws {
        let model = try makeMiniModel()
        try model.loadWeights(from: Fixture.keras3Weights)
        let path = temporaryPath("w.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveWeights(to: path, format: .safetensors)
        let listing = try WeightListing.read(path)
        #expect(listing.format == .safetensors)
        let kernel = try #require(listing.weights.first { $0.path == "conv1.weight" })
        #expect(kernel.layer == "conv2d")
        #expect(kernel.weight == "kernel")
        #expect(kernel.shape == [8, 1, 3, 3])
        #expect(kernel.kerasShape == [3, 3, 1, 8])
        #expect(try kernel.kerasValues() == model.weights[0].values.map(Double.init))
        let report = try InspectionReport(listing, statistics: false)
        let totals = try Self.modelTotals()
        #expect(report.totals["trainable"]!.parameters == totals.trainable)
        #expect(report.totals["non-trainable"]!.parameters == totals.nonTrainable + 6)  // + num_batches_tracked
    }
}
