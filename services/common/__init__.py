"""What every Flokk service needs alike: contracts, envelope, delivery, outbox, store, config, logs."""
