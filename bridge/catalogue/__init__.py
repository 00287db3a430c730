"""The alliance catalogue: harvesting partners' catalogue feeds (``EDC_CATALOGUE_PARTNERS``).

``fetch`` reads one partner's feed over HTTP within bounds (size, pages, time) with conditional
requests; ``read`` turns its pages into RDF, checks them against the LOQ shapes and extracts what the
catalogue page shows of each learning opportunity; ``harvest`` runs both for every partner and keeps
the last good copy in the database; ``search`` filters ours and the partners' courses for ``/catalogue``.
"""
