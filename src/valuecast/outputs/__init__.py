"""What valuecast hands to merchants: result files, ``report.html`` and audience files.

Outputs render an analysis and never run one: :mod:`valuecast.outputs.files` writes files
atomically and formula-safe (the cell rule of :mod:`valuecast.csvsafe`),
:mod:`valuecast.outputs.report` renders the HTML report and :mod:`valuecast.outputs.audiences`
turns a customers table into Klaviyo, Mailchimp, Meta and Google files.
"""
