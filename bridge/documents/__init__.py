"""The learner's documents: the certificate page (PDF, and the credential's displayDetail image) and
what the e-mail and the credential page show, all made from one view of the credential.

``view`` reads a sealed credential (or, for the image, a course template) into plain, localised
values; ``pdf`` lays them out with WeasyPrint (first page: the certificate; then the details) and seals
the PDF; ``page_raster`` rasterises a template's certificate page once, which ``bridge.elm.display_image``
completes with each learner's values.
"""
