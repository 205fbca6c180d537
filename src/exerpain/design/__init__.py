"""Designs of studies run on the model: virtual randomised trials (:mod:`.trial`)."""
