import CHDF5

/// Owns one HDF5 identifier and closes it with the matching H5Xclose when released.
///
/// Every identifier the module obtains is wrapped in a `Handle` the moment it is returned,
/// so ARC gives deterministic closing: temporaries (dataspaces, datatypes, property lists)
/// close at the end of the function that made them; `File`, `Group`, `Dataset` and
/// `Attribute` close when the last reference goes away.
final class Handle {
    /// Which H5Xclose releases the identifier.
    enum Kind {
        case file, group, dataset, attribute, dataspace, datatype, propertyList, object
    }

    let id: hid_t
    let kind: Kind

    init(_ id: hid_t, kind: Kind) {
        self.id = id
        self.kind = kind
    }

    deinit {
        Library.locked {
            switch kind {
            case .file: _ = H5Fclose(id)
            case .group: _ = H5Gclose(id)
            case .dataset: _ = H5Dclose(id)
            case .attribute: _ = H5Aclose(id)
            case .dataspace: _ = H5Sclose(id)
            case .datatype: _ = H5Tclose(id)
            case .propertyList: _ = H5Pclose(id)
            case .object: _ = H5Oclose(id)
            }
        }
    }
}
