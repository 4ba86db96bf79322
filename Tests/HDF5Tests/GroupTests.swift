import HDF5
import TestSupport
import Testing

@Suite struct GroupTests {
    @Test func createsNestedGroupsWithIntermediates() throws {
        try withTemporaryFile { file throws in
            let c = try file.root.createGroup("a/b/c")
            #expect(c.path == "/a/b/c")
            #expect(try file.root.group("a").group("b/c").path == "/a/b/c")
            #expect(try c.createGroup("d").path == "/a/b/c/d")
            try c.createDataset("/x/y", NDArray([Int32(1)]))
            #expect(try file.root.kind(of: "a/b") == .group)
            #expect(try file.root.kind(of: "/x/y") == .dataset)
        }
    }

    @Test func containsChecksEachComponent() throws {
        try withTemporaryFile { file throws in
            try file.root.createDataset("a/data", NDArray([Float(1)]))
            #expect(try file.root.contains("a"))
            #expect(try file.root.contains("a/data"))
            #expect(try file.root.contains("/a/data"))
            #expect(try !file.root.contains("b"))
            #expect(try !file.root.contains("b/c/d"))
            #expect(try !file.root.contains("a/data/x"))
            #expect(try file.root.group("a").contains("data"))
            #expect(hdf5Error { _ = try file.root.group("missing/x") }?.reason == .notFound)
            #expect(
                hdf5Error { _ = try file.root.dataset("a/nope") }?.description
                    == "dataset /a/nope in \(file.path): not found")
        }
    }

    @Test func unlinkRemovesLinks() throws {
        try withTemporaryFile { file throws in
            try file.root.createDataset("a/b/data", NDArray([Float(1)]))
            try file.root.group("a").unlink("b/data")
            #expect(try !file.root.contains("a/b/data"))
            try file.root.unlink("/a")
            #expect(try file.root.childNames().isEmpty)
            #expect(hdf5Error { try file.root.unlink("a") }?.reason == .notFound)
        }
    }

    @Test func listsInNameAndCreationOrder() throws {
        try withTemporaryFile(tracksCreationOrder: true) { file throws in
            let names = ["zeta", "alpha", "mid"]
            for name in names { try file.root.createGroup(name) }
            #expect(try file.root.tracksCreationOrder())
            #expect(try file.root.childNames() == ["alpha", "mid", "zeta"])
            #expect(try file.root.childNames(order: .creation) == names)

            let tracked = try file.root.createGroup("alpha/tracked", tracksCreationOrder: true)
            let untracked = try file.root.createGroup("alpha/untracked")
            for name in names {
                try tracked.createGroup(name)
                try untracked.createDataset(name, NDArray(scalar: 1.0))
            }
            #expect(try tracked.childNames(order: .creation) == names)
            #expect(try !untracked.tracksCreationOrder())
            #expect(try untracked.childNames(order: .creation) == ["alpha", "mid", "zeta"])
        }
    }

    @Test func creationOrderFallsBackToNamesInH5pyFiles() throws {
        try File.withOpen(Fixture.h5pyWritten) { file throws in
            #expect(try file.root.group("ordered").childNames(order: .creation) == ["zeta", "alpha", "mid"])
            #expect(
                try file.root.group("data").childNames(order: .creation)
                    == ["bool", "f16", "f64_scalar", "i32_rank3", "i64", "u8"])
            #expect(try file.root.childNames(order: .creation) == ["data", "model", "ordered"])
        }
    }
}
