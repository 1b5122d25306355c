import XCTest
@testable import InfraHTTP
