import ArgumentParser
import Foundation

/// Refuses, before any work, an output file whose folder does not exist or is not a folder, with
/// one line naming both ("cannot write /x/y.h5: no such directory /x"). Without the check the
/// failure would come at the end of the work, worded by whichever library wrote the file
/// (libhdf5's error stack, naming the temporary file the write goes through).
func checkOutputFolder(_ path: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    guard !folder.isEmpty else { return }  // the current folder
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
        throw OutputRefusal("cannot write \(path): no such directory \(folder)")
    }
    guard isFolder.boolValue else { throw OutputRefusal("cannot write \(path): \(folder) is not a directory") }
}

/// ``checkOutputFolder(_:)`` for each output that was given.
func checkOutputFolders(_ paths: String?...) throws {
    for path in paths.compactMap({ $0 }) { try checkOutputFolder(path) }
}

/// An output the command cannot write; reported as one line, exit status 2.
struct OutputRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
