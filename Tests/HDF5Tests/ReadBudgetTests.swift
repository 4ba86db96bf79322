import Foundation
import HDF5
import TestSupport
import Testing

/// What a file declares is held to its read budget (`ReadLimits`: 64 × its size) before anything is
/// allocated; a file opened from memory answers as the same file on disk.
@Suite struct ReadBudgetTests {
    @Test func aDeclaredExtentPastTheBudgetIsRefusedBeforeReading() throws {
        let dataset = try File.open(Fixture.path("hostile/h5_declared_4TB.h5")).root.dataset("dense/dense/kernel:0")
        #expect(hdf5Error { _ = try dataset.shape() }?.reason == .tooLarge)
        #expect(hdf5Error { _ = try dataset.readRawBytes() }?.reason == .tooLarge)
        #expect(hdf5Error { _ = try dataset.readFloat32Bytes() }?.reason == .tooLarge)
        let overflowing = try File.open(Fixture.path("hostile/h5_dims_2p40.h5")).root.dataset("dense/dense/kernel:0")
        #expect(hdf5Error { _ = try overflowing.shape() }?.reason == .tooLarge)
    }

    /// 3 000 variable-length strings all pointing at one 100 KB heap object: refused by the mapped
    /// bytes' reader, not handed to libhdf5.
    @Test func stringsPointingManyTimesAtOneObjectAreRefused() throws {
        let file = try File.open(Fixture.path("hostile/h5_layer_names_bomb.h5"))
        try file.mapIntoMemory()
        let attribute = try file.root.attributes.attribute("layer_names")
        #expect(try attribute.shape() == [3000])
        let error = hdf5Error { _ = try attribute.readStrings() }
        #expect(error?.reason == .tooLarge)
        #expect(error?.detail.hasPrefix("its variable-length strings declare 300000000 bytes (286.1 MiB)") == true)
    }

    /// The same strings read through libhdf5 (the file not mapped): H5Aread allocates them, and their
    /// lengths are counted against the budget before any Swift string is built.
    @Test func stringsReadThroughLibhdf5CountAgainstTheBudget() throws {
        let attribute = try File.open(Fixture.path("hostile/h5_layer_names_bomb.h5")).root.attributes.attribute("layer_names")
        let error = hdf5Error { _ = try attribute.readStrings() }
        #expect(error?.reason == .tooLarge)
        #expect(
            error?.detail.hasPrefix("its variable-length strings hold more than the read budget of 14250496 bytes (13.6 MiB)") == true,
            "\(String(describing: error))")
    }

    @Test(arguments: StoredGroupTests.writtenByH5py) func aFileOpenedFromMemoryAnswersAsOnDisk(_ path: String) throws {
        let image = try File.open(image: Data(contentsOf: URL(fileURLWithPath: path)), name: path)
        let disk = try File.open(path)
        #expect(try image.root.childNames() == disk.root.childNames())
        #expect(try image.root.attributes.names() == disk.root.attributes.names())
        for name in try disk.root.attributes.names() where try disk.root.attributes.attribute(name).dataType() == .string {
            #expect(try image.root.attributes.stringArray(name) == disk.root.attributes.stringArray(name))
        }
    }
}
