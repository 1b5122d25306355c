enum _PlaceholderInfraTestSupport {}
