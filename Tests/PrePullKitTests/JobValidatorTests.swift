import Testing
@testable import PrePullKit

@Suite struct JobValidatorTests {
    static func job(_ edit: (inout ImagePrePullJob) -> Void = { _ in }) -> ImagePrePullJob {
        var j = ImagePrePullJob(
            metadata: ObjectMeta(name: "good-job"),
            spec: ImagePrePullJobSpec(imagePrePullTemplate: ImagePrePullTemplate(images: ["nginx:1.24.0"], nodeNames: ["edge-1"])))
        edit(&j)
        return j
    }

    static let p = "spec.imagePrePullTemplate"

    @Test func validJobHasNoErrors() {
        #expect(JobValidator.validate(Self.job()) == [])
    }

    @Test(arguments: [
        ("Bad_Name", "metadata.name"),
        ("", "metadata.name"),
        ("-leading", "metadata.name"),
        (String(repeating: "a", count: 254), "metadata.name"),
    ])
    func nameMustBeDNS1123Subdomain(name: String, path: String) {
        let errors = JobValidator.validate(Self.job { $0.metadata.name = name })
        #expect(errors.count == 1)
        #expect(errors.first?.path == path)
        #expect(errors.first?.message.contains("DNS-1123 subdomain") == true)
    }

    @Test func dottedNameIsFine() {
        #expect(JobValidator.validate(Self.job { $0.metadata.name = "a.b-c" }) == [])
    }

    @Test func noImages() {
        #expect(JobValidator.validate(Self.job { $0.template.images = [] }) == [FieldError(path: "\(Self.p).images", message: "at least one image is required")])
    }

    @Test func duplicateImagesAfterNormalisation() {
        let errors = JobValidator.validate(Self.job { $0.template.images = ["nginx", "docker.io/library/nginx:latest"] })
        #expect(errors == [FieldError(path: "\(Self.p).images[1]", message: "\"docker.io/library/nginx:latest\" duplicates images[0] (\"nginx\")")])
    }

    @Test func invalidImageReference() {
        let errors = JobValidator.validate(Self.job { $0.template.images = ["nginx", "Nginx:1"] })
        #expect(errors.map(\.description) == ["\(Self.p).images[1]: \"Nginx:1\" is not a valid image reference: invalid reference format: repository name (library/Nginx) must be lowercase"])
    }

    @Test func bothNodeNamesAndSelector() {
        let errors = JobValidator.validate(Self.job { $0.template.labelSelector = LabelSelector(matchLabels: ["a": "b"]) })
        #expect(errors == [FieldError(path: Self.p, message: "nodeNames and labelSelector are mutually exclusive: give exactly one")])
    }

    @Test func neitherNodeNamesNorSelector() {
        let errors = JobValidator.validate(Self.job { $0.template.nodeNames = [] })
        #expect(errors == [FieldError(path: Self.p, message: "one of nodeNames or labelSelector is required")])
    }

    @Test func invalidAndDuplicateNodeNames() {
        let errors = JobValidator.validate(Self.job { $0.template.nodeNames = ["edge-1", "Edge_2", "edge-1"] })
        #expect(errors.map(\.description) == [
            "\(Self.p).nodeNames[1]: \"Edge_2\" is not a valid node name (DNS-1123 subdomain)",
            "\(Self.p).nodeNames[2]: duplicate node name \"edge-1\"",
        ])
    }

    @Test func labelSelectorRules() {
        let selector = LabelSelector(
            matchLabels: ["bad key!": "v", "ok": "bad value!"],
            matchExpressions: [
                LabelSelectorRequirement(key: "zone", operator: "Like", values: ["a"]),
                LabelSelectorRequirement(key: "zone", operator: .in),
                LabelSelectorRequirement(key: "zone", operator: .notIn),
                LabelSelectorRequirement(key: "gpu", operator: .exists, values: ["x"]),
                LabelSelectorRequirement(key: "gpu", operator: .doesNotExist, values: ["x"]),
                LabelSelectorRequirement(key: "-bad", operator: .in, values: ["ok", "no way"]),
                LabelSelectorRequirement(key: "example.com/zone", operator: .exists),
            ])
        let errors = JobValidator.validate(Self.job { $0.template.nodeNames = []; $0.template.labelSelector = selector })
        let s = "\(Self.p).labelSelector"
        #expect(errors.map(\.description) == [
            "\(s).matchLabels: \"bad key!\" is not a valid label key",
            "\(s).matchLabels.ok: \"bad value!\" is not a valid label value",
            "\(s).matchExpressions[0].operator: \"Like\" is not a valid operator (one of In, NotIn, Exists, DoesNotExist)",
            "\(s).matchExpressions[1].values: must be non-empty when operator is In",
            "\(s).matchExpressions[2].values: must be non-empty when operator is NotIn",
            "\(s).matchExpressions[3].values: must be empty when operator is Exists",
            "\(s).matchExpressions[4].values: must be empty when operator is DoesNotExist",
            "\(s).matchExpressions[5].key: \"-bad\" is not a valid label key",
            "\(s).matchExpressions[5].values[1]: \"no way\" is not a valid label value",
        ])
    }

    @Test func unknownCheckItems() {
        let errors = JobValidator.validate(Self.job { $0.template.checkItems = ["disk", "gpu"] })
        #expect(errors.map(\.description) == ["\(Self.p).checkItems[1]: \"gpu\" is not a check item (one of cpu, mem, disk)"])
    }

    @Test(arguments: [
        ("1.5", "\"1.5\" is not a ratio between 0 and 1"),
        ("-0.1", "\"-0.1\" is not a ratio between 0 and 1"),
        ("0.0000000001", "\"0.0000000001\" is not a ratio between 0 and 1"),
        ("abc", "\"abc\" is not a number"),
        ("0.1.2", "\"0.1.2\" is not a number"),
        ("1e-1", "\"1e-1\" is not a number"),
    ])
    func failureTolerateRules(value: String, message: String) {
        let errors = JobValidator.validate(Self.job { $0.template.failureTolerate = value })
        #expect(errors == [FieldError(path: "\(Self.p).failureTolerate", message: message)])
    }

    @Test(arguments: ["0", "1", "0.5", ".25", "1.0", " 0.1 ", "0.100000000000"])
    func acceptedTolerances(value: String) {
        #expect(JobValidator.validate(Self.job { $0.template.failureTolerate = value }) == [])
    }

    @Test func negativeNumbers() {
        let errors = JobValidator.validate(Self.job { $0.template.concurrency = -1; $0.template.retryTimes = -2; $0.template.timeoutSeconds = -3 })
        #expect(errors.map(\.description) == [
            "\(Self.p).concurrency: -1 must not be negative",
            "\(Self.p).timeoutSeconds: -3 must not be negative",
            "\(Self.p).retryTimes: -2 must not be negative",
        ])
    }

    @Test(arguments: ["regcred", "a/b/c", "/x", "Default/regcred", "default/"])
    func imageSecretsMustBeNamespaceSlashName(value: String) {
        let errors = JobValidator.validate(Self.job { $0.template.imageSecrets = value })
        #expect(errors.map(\.path) == ["\(Self.p).imageSecrets"])
    }

    @Test func reportsAllProblemsAtOnce() {
        let job = Self.job {
            $0.metadata.name = "Nope"
            $0.template.images = []
            $0.template.nodeNames = []
            $0.template.failureTolerate = "2"
            $0.template.concurrency = -1
            $0.template.checkItems = ["gpu"]
            $0.template.imageSecrets = "x"
        }
        let paths = JobValidator.validate(job).map(\.path)
        #expect(paths == [
            "metadata.name", "\(Self.p).images", Self.p, "\(Self.p).checkItems[0]", "\(Self.p).failureTolerate",
            "\(Self.p).concurrency", "\(Self.p).imageSecrets",
        ])
    }

    @Test func exampleMessageFromTheIssue() {
        let errors = JobValidator.validate(Self.job { $0.template.failureTolerate = "1.5" })
        #expect(errors.map(\.description) == ["spec.imagePrePullTemplate.failureTolerate: \"1.5\" is not a ratio between 0 and 1"])
    }
}

@Suite struct LabelSelectorMatchingTests {
    let labels = ["zone": "eu-1", "role": "edge", "gpu": ""]

    @Test func emptySelectorMatchesEverything() {
        #expect(LabelSelector().matches(labels: [:]))
        #expect(LabelSelector().matches(labels: labels))
    }

    @Test func matchLabels() {
        #expect(LabelSelector(matchLabels: ["zone": "eu-1"]).matches(labels: labels))
        #expect(LabelSelector(matchLabels: ["zone": "eu-1", "role": "edge"]).matches(labels: labels))
        #expect(!LabelSelector(matchLabels: ["zone": "eu-2"]).matches(labels: labels))
        #expect(!LabelSelector(matchLabels: ["missing": ""]).matches(labels: labels))
        #expect(LabelSelector(matchLabels: ["gpu": ""]).matches(labels: labels))
    }

    @Test(arguments: [
        (LabelSelectorRequirement(key: "zone", operator: .in, values: ["eu-1", "eu-2"]), true),
        (LabelSelectorRequirement(key: "zone", operator: .in, values: ["us-1"]), false),
        (LabelSelectorRequirement(key: "absent", operator: .in, values: ["x"]), false),
        (LabelSelectorRequirement(key: "zone", operator: .notIn, values: ["us-1"]), true),
        (LabelSelectorRequirement(key: "zone", operator: .notIn, values: ["eu-1"]), false),
        (LabelSelectorRequirement(key: "absent", operator: .notIn, values: ["x"]), true),
        (LabelSelectorRequirement(key: "gpu", operator: .exists), true),
        (LabelSelectorRequirement(key: "absent", operator: .exists), false),
        (LabelSelectorRequirement(key: "absent", operator: .doesNotExist), true),
        (LabelSelectorRequirement(key: "zone", operator: .doesNotExist), false),
        (LabelSelectorRequirement(key: "zone", operator: "Bogus", values: ["eu-1"]), false),
    ])
    func expressions(requirement: LabelSelectorRequirement, expected: Bool) {
        #expect(LabelSelector(matchExpressions: [requirement]).matches(labels: labels) == expected)
    }

    @Test func labelsAndExpressionsAreANDed() {
        let s = LabelSelector(matchLabels: ["role": "edge"], matchExpressions: [LabelSelectorRequirement(key: "zone", operator: .notIn, values: ["eu-1"])])
        #expect(!s.matches(labels: labels))
        #expect(s.matches(labels: ["role": "edge", "zone": "eu-2"]))
    }
}
